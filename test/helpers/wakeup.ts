/**
 * A wait that the next socket event cuts short: test clients call `wait(ms)`
 * in their polling loops and `wake()` from their 'data' and 'close' handlers.
 */
export class Wakeup {
  private waiter: (() => void) | null = null

  wait (ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(() => { this.waiter = null; resolve() }, ms)
      this.waiter = () => { clearTimeout(timer); this.waiter = null; resolve() }
    })
  }

  wake (): void {
    if (this.waiter !== null) this.waiter()
  }
}
