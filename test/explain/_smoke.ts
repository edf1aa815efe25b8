import { explain, formatExplanation } from '../../src/explain/index.js';
import { tutorial, chain } from '../../test/explain/fixtures.js';
for (const f of [4, 6] as const) for (const s of ['bare', 'routes', 'working'] as const) {
  console.log(formatExplanation(explain(tutorial(s, f), 'ns0', 'ns1')));
  console.log();
}
console.log(formatExplanation(explain(tutorial('bare'), 'host', 'ns0')));
console.log(formatExplanation(explain(tutorial('bare'), 'ns0', 'host')));
let t = Date.now();
const e = explain(chain(250), 'n0', 'n251'); console.log(formatExplanation(e).slice(0, 600), '...', e.failure, e.remedy, Date.now()-t);
t = Date.now();
const e2 = explain(chain(250, '255'), 'n0', 'n251'); console.log(e2.verdict, e2.hops, e2.replyTtl, Date.now()-t);
