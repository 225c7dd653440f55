import assert from "node:assert/strict";
import { labelsFromRecord, labelsToRecord } from "./labels.ts";
import {
  hashmod,
  parseRelabelConfigs,
  relabel,
  RelabelConfigError,
  RelabelRule,
} from "./relabel.ts";
import expected from "./testdata/relabel_cases.json" with { type: "json" };

// testdata/relabel_cases.json comes from testdata/relabel_cases.go: the same rules evaluated
// with Go's regexp and crypto/md5, as Prometheus evaluates them.

Deno.test("relabel: every action agrees with Go's evaluation", () => {
  for (const c of expected.relabel) {
    // The rules are JSON, which is YAML too.
    const rules = parseRelabelConfigs(JSON.stringify(c.rules));
    const out = relabel(labelsFromRecord(c.input), rules);
    assert.deepEqual(
      out === undefined ? null : labelsToRecord(out),
      c.output,
      c.name,
    );
  }
});

Deno.test("relabel: hashmod is md5's low 8 bytes modulo, as in Go", () => {
  for (const c of expected.hashmod) {
    assert.equal(hashmod(c.value, c.modulus), c.result, `${c.value} % ${c.modulus}`);
  }
});

Deno.test("relabel: YAML rules take Prometheus' defaults", () => {
  const [rule] = parseRelabelConfigs("- target_label: x\n");
  assert.equal(rule.action, "replace");
  assert.equal(rule.separator, ";");
  assert.equal(rule.regex, "(.*)");
  assert.equal(rule.replacement, "$1");
  assert.deepEqual(rule.sourceLabels, []);
  assert.deepEqual(parseRelabelConfigs(""), []);
  assert.deepEqual(parseRelabelConfigs("# nothing\n"), []);
  assert.deepEqual(parseRelabelConfigs("[]"), []);
  // Scalars are text, as Go's decoder reads them into string fields; null is "".
  const [typed] = parseRelabelConfigs(
    "- {source_labels: [a], regex: 1.50, separator: null, action: KEEP}",
  );
  assert.equal(typed.regex, "1.50");
  assert.equal(typed.separator, "");
  assert.equal(typed.action, "keep");
  const [block] = parseRelabelConfigs(`
- source_labels:
    - cluster
    - replica
  separator: "/"
  regex: "eu-1/.*"
  action: drop
`);
  assert.deepEqual(block.sourceLabels, ["cluster", "replica"]);
  assert.equal(block.separator, "/");
  assert.equal(relabel(labelsFromRecord({ cluster: "eu-1", replica: "b" }), [block]), undefined);
});

Deno.test("relabel: invalid rules are refused with Prometheus' reasons", () => {
  const bad: [string, RegExp][] = [
    ["- {action: hashmod, target_label: x}", /rule 1: .*hashmod requires non-zero modulus/],
    ["- {action: replace}", /rule 1: .*replace action requires 'target_label'/],
    [
      "- {target_label: a}\n- {action: keepequal}",
      /rule 2: .*keepequal action requires 'target_label'/,
    ],
    ["- {action: keep, regex: '(x'}", /invalid regex "\(x"/],
    ["- {action: nope}", /unknown relabel action "nope"/],
    ["- {action: ''}", /relabel action cannot be empty/],
    ["- {action: lowercase, target_label: x}", /"lowercase" is not supported here/],
    ["- {action: labeldrop, source_labels: []}", /labeldrop action requires only 'regex'/],
    ["- {action: labelkeep, separator: ','}", /labelkeep action requires only 'regex'/],
    [
      "- {action: keepequal, target_label: a, regex: '(.*)'}",
      /keepequal action requires only 'source_labels'/,
    ],
    ["- {action: labelmap, replacement: ''}", /"" is invalid 'replacement' for labelmap/],
    ["- {action: hashmod, target_label: x, modulus: -1}", /modulus: expected a decimal/],
    ["- {action: hashmod, target_label: x, modulus: 010}", /modulus: expected a decimal/],
    ["- {action: keep, sourcelabels: [a]}", /unknown field "sourcelabels"/],
    ["- {action: keep, source_labels: a}", /source_labels: expected a list/],
    ["- {action: keep, source_labels: ['']}", /invalid label name ""/],
    ["- {action: keep, action: drop}", /invalid YAML/],
    ["action: keep", /expected a list of relabel rules/],
    ["- keep", /rule 1: expected a mapping/],
  ];
  for (const [yaml, want] of bad) {
    assert.throws(() => parseRelabelConfigs(yaml), (e) => {
      assert.ok(e instanceof RelabelConfigError, String(e));
      assert.match(e.message, want, yaml);
      return true;
    });
  }
});

Deno.test("relabel: a rule can be built in code", () => {
  const rule = new RelabelRule({
    sourceLabels: ["tenant"],
    action: "hashmod",
    modulus: 2,
    targetLabel: "s",
  });
  const out = relabel(labelsFromRecord({ tenant: "team-ä" }), [rule]);
  assert.equal(labelsToRecord(out!).s, String(hashmod("team-ä", 2)));
});
