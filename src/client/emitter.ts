/**
 * A small typed event emitter. Unlike node:events it runs in browsers too,
 * and an `error` with no listener is dropped rather than thrown: the client
 * reports errors that also reach a caller (a rejected promise, an iterator
 * that throws) through `error` as well, and that must not crash a program
 * that does not listen.
 */
export class Emitter<Events extends object> {
  private listeners = new Map<keyof Events, Array<(arg: never) => void>>()

  /** Calls `fn` on every `name` event. */
  on<K extends keyof Events> (name: K, fn: (arg: Events[K]) => void): this {
    const list = this.listeners.get(name) ?? []
    list.push(fn as (arg: never) => void)
    this.listeners.set(name, list)
    return this
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof Events> (name: K, fn: (arg: Events[K]) => void): this {
    const list = this.listeners.get(name)
    if (list !== undefined) {
      const i = list.indexOf(fn as (arg: never) => void)
      if (i !== -1) list.splice(i, 1)
    }
    return this
  }

  /** Calls `fn` on the next `name` event only. */
  once<K extends keyof Events> (name: K, fn: (arg: Events[K]) => void): this {
    const wrapper = (arg: Events[K]): void => {
      this.off(name, wrapper)
      fn(arg)
    }
    return this.on(name, wrapper)
  }

  /** A listener that throws does not disturb the client: its error is rethrown on its own turn. */
  protected emit<K extends keyof Events> (name: K, arg: Events[K]): void {
    const list = this.listeners.get(name)
    if (list === undefined) return
    for (const fn of [...list]) {
      try {
        (fn as (arg: Events[K]) => void)(arg)
      } catch (err) {
        queueMicrotask(() => { throw err })
      }
    }
  }
}
