import assert from "node:assert/strict";
import { Evidence } from "../../lib/tracking/_evidence.ts";

/** Answers `unknown` until the evidence drops `name`; how many it took. */
function unknownsUntilDropped(evidence: Evidence, name: string): number {
  for (let n = 1; n <= 50; n++) {
    evidence.add("unknown", 1);
    if (evidence.name !== name) return n;
  }
  return Infinity;
}

Deno.test("a settled name outlasts unsure answers, unless the evidence fades for a new face", () => {
  const settled = () => {
    const evidence = new Evidence();
    for (let i = 0; i < 8; i++) evidence.add("ada", 1);
    assert.equal(evidence.name, "ada");
    assert.equal(evidence.settled, true);
    return evidence;
  };
  // A known face the recogniser is briefly unsure of keeps its name...
  const kept = unknownsUntilDropped(settled(), "ada");
  assert.ok(kept >= 5, `kept for ${kept} unsure answers`);
  // ...but when another face stands in its place, the old evidence fades
  // and the name goes within two unsure answers instead of staying wrong.
  const faded = settled();
  faded.fade(0.2);
  assert.ok(unknownsUntilDropped(faded, "ada") <= 2);
  assert.equal(faded.name, "unknown");
});
