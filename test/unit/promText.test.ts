import t from 'tap'
import { parsePrometheusText, sampleValue } from '../helpers/promText'

/** The test parser of the text format must refuse what Prometheus refuses, or the metrics tests prove little. */
t.test('parses families, labels with escapes, special values and histograms', async t => {
  const text = [
    '# HELP a_total Things, with a \\\\ and a \\n.',
    '# TYPE a_total counter',
    'a_total{code="X",path="a\\"b\\\\c\\nd"} 3',
    'a_total{code="Y"} 1e3 1700000000000',
    '# a plain comment',
    '# TYPE g gauge',
    'g NaN',
    '# TYPE h histogram',
    'h_bucket{le="0.1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 0.5',
    'h_count 2',
    '',
  ].join('\n')
  const m = parsePrometheusText(text)
  t.same([...m.keys()], ['a_total', 'g', 'h'])
  t.equal(m.get('a_total')!.help, 'Things, with a \\ and a \n.')
  t.equal(sampleValue(m, 'a_total', 'a_total', { code: 'X', path: 'a"b\\c\nd' }), 3)
  t.equal(sampleValue(m, 'a_total', 'a_total', { code: 'Y' }), 1000)
  t.ok(Number.isNaN(sampleValue(m, 'g', 'g')))
  t.equal(sampleValue(m, 'h', 'h_count'), 2)
})

t.test('refuses malformed expositions', async t => {
  const bad: Array<[string, RegExp]> = [
    ['x 1', /end with a newline/],
    ['1x 1\n', /bad metric name/],
    ['x{1a="b"} 1\n', /bad label name/],
    ['x{a="b} 1\n', /unterminated/],
    ['x{a="\\t"} 1\n', /bad escape/],
    ['x{a="b",a="c"} 1\n', /given twice/],
    ['x one\n', /bad value/],
    ['x 1\nx 2\n', /duplicate series/],
    ['# TYPE x counter\nx 1\n# TYPE y gauge\ny 1\nx{a="b"} 2\n', /two places/],
    ['# TYPE x summery\n', /unknown type/],
    ['x 1\n# TYPE x counter\n', /after its samples/],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf bucket/],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', /differs from _count/],
  ]
  for (const [text, err] of bad) t.throws(() => parsePrometheusText(text), err, JSON.stringify(text))
})
