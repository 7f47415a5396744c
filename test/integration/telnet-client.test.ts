import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { requireProgram, TmuxTerminal } from '../helpers/tmux'

// The real Linux telnet client (inetutils-telnet) in a real terminal (tmux), typed into as a person would.

t.before(async () => {
  await requireProgram('tmux', ['-V'])
  await requireProgram('telnet', ['--version'])
})

t.test('Ctrl-C in telnet: the session keeps showing replies', async t => {
  const tb = await startTestBroker(t)
  const term = await TmuxTerminal.start(t, ['telnet', '127.0.0.1', String(tb.port)], { width: 100, height: 30 })
  await term.waitForScreen(rows => rows.some(r => r.startsWith('Escape character is')), 'the telnet banner')

  await term.sendKeys('ping', 'Enter')
  await term.waitForRows('OK PONG', 1)

  // telnet sends IAC IP IAC DO TIMING-MARK and hides all output until the broker answers the timing mark.
  await term.sendKeys('C-c')
  await term.sendKeys('ping', 'Enter')
  await term.waitForRows('OK PONG', 2)

  await term.sendKeys('pub news {"msg":"after ctrl-c"}', 'Enter')
  await term.waitForRows('OK 1 published to news (0 subscribers)', 1)
  t.pass('replies are shown after Ctrl-C')
})

t.test('Backspace in telnet, in line mode and after `mode character`', async t => {
  const tb = await startTestBroker(t)
  const term = await TmuxTerminal.start(t, ['telnet', '127.0.0.1', String(tb.port)], { width: 100, height: 30 })
  await term.waitForScreen(rows => rows.some(r => r.startsWith('Escape character is')), 'the telnet banner')
  await term.sendKeys('pinx', 'BSpace', 'g', 'Enter')
  await term.waitForRows('OK PONG', 1)

  // Character mode: telnet asks DO SGA, DO ECHO and then sends each key as typed (Backspace as a raw DEL).
  // Whether it stays there (the broker refuses both, so it falls back to line mode) or not, the line is edited.
  await term.sendKeys('C-]')
  await term.waitForScreen(rows => rows.some(r => r.startsWith('telnet>')), 'the telnet> prompt')
  await term.sendKeys('mode character', 'Enter')
  await term.sendKeys('pinx', 'BSpace', 'g', 'Enter')
  await term.waitForRows('OK PONG', 2)
  await term.sendKeys('bogus', 'Enter')
  await term.waitForRows('ERR UNKNOWN_COMMAND unknown command "bogus"; type help for the list', 1)
  t.pass('typed lines arrive edited')
})
