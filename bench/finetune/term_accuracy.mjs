// Greedy answers to the Sunny Bank questions, with and without an adapter: a question counts as
// right when the answer holds its term. Prints one row per question and the accuracy of the
// questions seen in training (other phrasings in the data) and of the held-out phrasings.
//   node bench/finetune/term_accuracy.mjs CITADEL MODEL QUESTIONS.jsonl [ADAPTER[:SCALE]]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const [citadel, model, questionsPath, adapter] = process.argv.slice(2);
const questions = fs.readFileSync(questionsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const answer = (q, lora) => {
  const args = ['generate', '-m', model, '-p', `Q: ${q} A:`, '-n', '32', '--temperature', '0', '--json'];
  if (lora) args.push('--lora', lora);
  return JSON.parse(execFileSync(citadel, args, { encoding: 'utf8' })).text.trim();
};
const score = { base: { seen: [0, 0], held_out: [0, 0] }, adapter: { seen: [0, 0], held_out: [0, 0] } };
const rows = [];
for (const { question, term, seen } of questions) {
  const kind = seen ? 'seen' : 'held_out';
  const row = { question, term, kind };
  for (const [name, lora] of [['base', null], ['adapter', adapter]]) {
    if (name === 'adapter' && !adapter) continue;
    const text = answer(question, lora);
    const ok = text.toLowerCase().includes(term.toLowerCase());
    score[name][kind][0] += ok ? 1 : 0;
    score[name][kind][1] += 1;
    row[name] = { text, ok };
  }
  rows.push(row);
}
const pct = ([a, n]) => (n ? `${((100 * a) / n).toFixed(0)}% (${a}/${n})` : '-');
for (const r of rows.filter((x) => x.kind === 'held_out'))
  console.log(`${r.term.padEnd(10)} | base: ${r.base.ok ? 'yes' : 'no '} ${JSON.stringify(r.base.text.slice(0, 60))}` +
              (r.adapter ? ` | adapter: ${r.adapter.ok ? 'yes' : 'no '} ${JSON.stringify(r.adapter.text.slice(0, 70))}` : ''));
console.log(`term accuracy, seen phrasings:     base ${pct(score.base.seen)}${adapter ? `, adapter ${pct(score.adapter.seen)}` : ''}`);
console.log(`term accuracy, held-out phrasings: base ${pct(score.base.held_out)}${adapter ? `, adapter ${pct(score.adapter.held_out)}` : ''}`);
console.log(JSON.stringify({ base: score.base, adapter: adapter ? score.adapter : null }));
