/**
 * The query UI in a real browser: Debian's headless Chromium, driven over the DevTools protocol,
 * loads the UI from a running `serve` on two converted test days, types queries and checks what
 * the page renders against values computed here from the written samples: the table's rows, the
 * graph's series, an error, the URL that holds the query, and the block browser's days, series
 * and sample counts. The page must make no request to another origin and throw no error. Skips
 * with a message when chromium is not installed (`.ci/install_packages.sh` installs it).
 */
import assert from "node:assert/strict";
import { labelsFromRecord } from "../model/labels.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";
import { Browser, chromiumAvailable, type Page } from "./chromium.ts";
import { convertOnce, type GatewayServer, startServe } from "./oracle/gateway.ts";

const available = await chromiumAvailable();
if (!available) console.log("ui_browser_test: /usr/bin/chromium is not installed; skipped");

const MINUTE = 60_000;
const DAY = 86_400_000;
const START = Date.UTC(2025, 2, 1);
// Two whole days, and two hours of the third so that the second counts as complete.
const END = START + 2 * DAY + 2 * 3_600_000;
const ROOMS = ["r1", "r2", "r3", "r4"];
const INSTANCES = ["i0", "i1", "i2"];

/** The gauge of room `r` at `t` (ms): whole numbers, so the API prints them as written. */
function temperature(room: number, t: number): number {
  return 15 + room * 2 + ((t - START) / MINUTE) % 7;
}

/** Every minute of the data: the counters grow by `instance + 1` per minute. */
async function writeTestBlock(dir: string): Promise<void> {
  const ts: number[] = [];
  for (let t = START; t < END; t += MINUTE) ts.push(t);
  const series: SeriesToWrite[] = [
    ...ROOMS.map((room, r) => ({
      labels: labelsFromRecord({ __name__: "ui_test_temp", room }),
      chunks: xorChunks(ts, ts.map((t) => temperature(r, t))),
    })),
    ...INSTANCES.map((instance, i) => ({
      labels: labelsFromRecord({ __name__: "ui_test_requests_total", instance, job: "api" }),
      chunks: xorChunks(ts, ts.map((_, k) => k * (i + 1))),
    })),
  ];
  await writeBlock(dir, series, {
    range: { minTime: START, maxTime: END },
    thanos: {
      version: 1,
      labels: { site: "ui-test" },
      downsample: { resolution: 0 },
      source: "test",
      segmentFiles: [],
      files: [],
    },
  });
}

/** Replaces the editor's text with `query` and runs it with Enter. */
async function runQuery(page: Page, query: string): Promise<void> {
  await page.click(".cm-content");
  await page.press("a", 2); // Ctrl+A
  await page.type(query);
  // A completion popup (metric names from the API) takes Enter for itself: close it first.
  if (await page.evaluate("!!document.querySelector('.cm-tooltip-autocomplete')")) {
    await page.press("Escape");
    await page.click(".cm-content");
  }
  await page.press("Enter");
}

/** Leaves the editor by keyboard: Escape closes a completion popup, then leaves. */
async function leaveEditor(page: Page): Promise<void> {
  for (let i = 0; i < 3; i++) {
    if (!(await page.evaluate("document.activeElement?.classList.contains('cm-content')"))) return;
    await page.press("Escape");
  }
  throw new Error("Escape did not leave the editor");
}

/** Waits until no query is running and returns the stats line. */
function settled(page: Page): Promise<string> {
  return page.waitFor(
    "!document.querySelector('.result-area.busy') && document.querySelector('.stats').textContent",
  );
}

Deno.test({
  name: "query UI in headless Chromium: table, graph, errors, URL state, block browser",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "ui-browser-" });
    let gateway: GatewayServer | undefined;
    let browser: Browser | undefined;
    try {
      await writeTestBlock(`${root}/tsdb`);
      await convertOnce(root, ["--convert.max-plan-days=4"]);
      gateway = await startServe(root);
      browser = await Browser.launch();
      const page = await browser.newPage();
      const at = START + DAY + 12 * 3_600_000 + 30 * MINUTE; // 2025-03-02 12:30 UTC

      await t.step("table: one row per series with its value at the evaluation time", async () => {
        await page.goto(`${gateway!.url}/graph?g0.tab=1&g0.end_input=2025-03-02%2012:30:00`);
        await page.waitFor("document.querySelector('.cm-content')");
        await runQuery(page, 'ui_test_temp{site="ui-test"}');
        assert.match(await settled(page), /Result series: 4$/);
        const rows = await page.evaluate<string[][]>(
          "[...document.querySelectorAll('table.result tbody tr')]" +
            ".map((tr) => [...tr.cells].map((c) => c.textContent))",
        );
        assert.deepEqual(
          rows,
          ROOMS.map((room, r) => [
            `ui_test_temp{room="${room}", site="ui-test"}`,
            String(temperature(r, at)),
          ]),
        );
        // The URL holds the query and the time, so that it can be shared.
        const params = new URLSearchParams(await page.evaluate<string>("location.search"));
        assert.equal(params.get("g0.expr"), 'ui_test_temp{site="ui-test"}');
        assert.equal(params.get("g0.tab"), "1");
        assert.equal(params.get("g0.moment_input"), "2025-03-02 12:30:00");
      });

      await t.step("graph: one line per series, legend with label sets", async () => {
        // `g` switches to the graph (outside the editor, which Escape leaves).
        await leaveEditor(page);
        await page.press("g");
        await page.waitFor("document.querySelector('.tab.active').textContent === 'Graph'");
        await runQuery(page, "rate(ui_test_requests_total[5m])");
        assert.match(await settled(page), /Result series: 3$/);
        assert.equal(
          await page.evaluate("document.querySelector('.chart').dataset.series"),
          "3",
        );
        assert.deepEqual(
          await page.evaluate(
            "[...document.querySelectorAll('.legend-item')].map(e => e.textContent)",
          ),
          INSTANCES.map((i) => `{instance="${i}", job="api", site="ui-test"}`),
        );
        // Hovering the plot shows the time and the nearest series with its value.
        const box = await page.evaluate<{ x: number; y: number; w: number; h: number }>(
          `(() => { const r = document.querySelector('.u-over').getBoundingClientRect();
            return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`,
        );
        await page.hover(box.x + box.w / 2, box.y + box.h / 2);
        const hover = await page.waitFor<string>(
          "!document.querySelector('.hover').hidden && document.querySelector('.hover').innerText",
        );
        assert.match(
          hover,
          /^2025-03-02 1[12]:\d\d:\d\d UTC\n[\d.]+\n\{instance="i[012]", job="api"/,
        );
        // `s` stacks the series, drawn again from the same answer's series.
        await leaveEditor(page);
        await page.press("s");
        await page.waitFor("document.querySelector('.seg.active').textContent === 'Stacked'");
        assert.match(await settled(page), /Result series: 3$/);
        assert.equal(
          await page.evaluate("document.querySelector('.chart').dataset.series"),
          "3",
        );
        const params = new URLSearchParams(await page.evaluate<string>("location.search"));
        assert.equal(params.get("g0.tab"), "0");
        assert.equal(params.get("g0.range_input"), "1h");
      });

      await t.step("annotations are shown as Prometheus shows them", async () => {
        await runQuery(page, "rate(ui_test_temp[5m])");
        assert.match(await settled(page), /Result series: 4$/);
        assert.deepEqual(
          await page.evaluate(
            "[...document.querySelectorAll('.alert.info')].map(e => e.textContent)",
          ),
          [
            "PromQL info: metric might not be a counter, name does not end in " +
            '_total/_sum/_count/_bucket: "ui_test_temp" (1:6)',
          ],
        );
      });

      await t.step("errors of the API are shown", async () => {
        await runQuery(page, "rate(ui_test_requests_total)");
        const alert = await page.waitFor<string>(
          "document.querySelector('.alert.error')?.textContent",
        );
        assert.match(alert, /^Error executing query: .*range vector/);
        assert.equal(await page.evaluate("document.querySelector('.chart')"), null);
      });

      await t.step("block browser: the two converted days with series and samples", async () => {
        await leaveEditor(page);
        await page.press("b");
        await page.waitFor("document.querySelector('section.stream')");
        assert.equal(
          await page.evaluate("document.querySelector('section.stream h2 code').textContent"),
          '{site="ui-test"}',
        );
        const days = await page.evaluate<string[][]>(
          "[...document.querySelectorAll('tr.day')].map((tr) => [tr.dataset.date, " +
            "tr.cells[1].textContent, tr.cells[5].textContent, tr.cells[4].textContent])",
        );
        assert.deepEqual(days, [
          ["2025-03-02", "loaded", "7", "1"],
          ["2025-03-01", "loaded", "7", "1"],
        ]);
        await page.click("tr.day button.small");
        const samples = await page.waitFor<string>(
          "document.querySelector('tr.day').cells[6].textContent.match(/^[0-9,]+$/)?.[0]",
        );
        // 7 series, one sample a minute all day.
        assert.equal(samples, (7 * DAY / MINUTE).toLocaleString("en-US"));
      });

      await t.step("status page lists the limits in force", async () => {
        await page.goto(`${gateway!.url}/status`);
        const limits = await page.waitFor<string[]>(
          "[...document.querySelectorAll('table.limits th')].map((th) => th.textContent)" +
            ".filter(Boolean).length && " +
            "[...document.querySelectorAll('table.limits th')].map((th) => th.textContent)",
        );
        assert.ok(limits.includes("--query.timeout"), String(limits));
      });

      await t.step("the page loads nothing from elsewhere and throws nothing", () => {
        const foreign = page.requests.filter((u) =>
          !u.startsWith(`${gateway!.url}/`) && !u.startsWith("data:") && u !== "about:blank"
        );
        assert.deepEqual(foreign, []);
        assert.deepEqual(page.errors, []);
      });
    } finally {
      await browser?.close();
      await gateway?.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
