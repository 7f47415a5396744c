import t from 'tap'
import { npmStartMistake } from '../../src/npmStart'

const FLAGS = ['port', 'host', 'config', 'log-dir', 'log-level']
const npm = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ npm_lifecycle_event: 'start', ...vars })

t.test('only under npm start, and only when npm kept a flag or passed a stray argument', async t => {
  t.equal(npmStartMistake({ npm_config_port: 'true' }, FLAGS, ['9001']), null, 'not run by npm start')
  t.equal(npmStartMistake(npm({}), FLAGS, []), null, 'npm start -- --port 9001 is fine')
})

t.test('the command that works, rebuilt from what npm kept', async t => {
  t.equal(npmStartMistake(npm({ npm_config_port: 'true' }), FLAGS, ['9001']),
    'npm start keeps flags written before "--" for itself (it took --port); put them after "--": npm start -- --port 9001')
  t.equal(npmStartMistake(npm({ npm_config_port: '9001', npm_config_log_dir: '/tmp/x' }), FLAGS, []),
    'npm start keeps flags written before "--" for itself (it took --port, --log-dir); put them after "--": npm start -- --port 9001 --log-dir /tmp/x')
  t.equal(npmStartMistake(npm({ npm_config_port: 'true', npm_config_host: 'true' }), FLAGS, ['9001', '127.0.0.1']),
    'npm start keeps flags written before "--" for itself (it took --port, --host); put them after "--": npm start -- --port <value> --host <value>',
    'two bare flags: npm does not say which value was whose')
  t.equal(npmStartMistake(npm({}), FLAGS, ['9001']), 'unexpected argument "9001": with npm start, flags go after "--", e.g. npm start -- --port 9001')
})
