import { predictMatrix, explain } from '../../src/explain/index.js';
import { chain, LabBuilder } from './fixtures.js';
function campus() {
  const b = new LabBuilder('campus').node('core', 'netns', { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  for (let s = 1; s <= 9; s++) {
    b.node(`sw${s}`, 'bridge');
    b.link(`core:e${s}`, [`10.0.${s}.1/24`, `2001:db8:${s}::1/64`], `sw${s}:up`);
    for (let h = 1; h <= 11; h++) {
      b.link(`h${s}x${h}:eth0`, [`10.0.${s}.${h + 10}/24`, `2001:db8:${s}::${h + 10}/64`], `sw${s}:p${h}`);
      b.route(`h${s}x${h}`, 'default', `10.0.${s}.1`).route(`h${s}x${h}`, 'default', `2001:db8:${s}::1`);
    }
  }
  return b.build();
}
for (let k = 0; k < 3; k++) {
let t = performance.now();
const m = predictMatrix(campus());
console.log('campus', m.nodes.length, m.pairs.length, m.pairs.filter(p=>p.verdict==='reach').length, (performance.now()-t).toFixed(0));
}
let t = performance.now();
const c = predictMatrix(chain(250, '255'));
console.log('chain', c.pairs.length, c.pairs.filter(p=>p.verdict==='reach').length, (performance.now()-t).toFixed(0));
t = performance.now();
const c2 = predictMatrix(chain(250));
console.log('chain64', c2.pairs.length, c2.pairs.filter(p=>p.verdict==='reach').length, (performance.now()-t).toFixed(0));
t = performance.now(); explain(chain(250), 'n0', 'n251'); console.log('explain', (performance.now()-t).toFixed(0));
t = performance.now(); explain(chain(250), 'n0', 'n251'); console.log('explain', (performance.now()-t).toFixed(0));
