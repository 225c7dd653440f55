/**
 * Screenshots of the query UI on the demo data: writes the demo's TSDB blocks into a temporary
 * directory, converts them, starts `serve` on free loopback ports and opens the UI in Debian's
 * headless Chromium, saving
 *
 * - `graph.png`: a range query of the request rate by cluster and job over the last day of data,
 *   hovered, and its legend;
 * - `graph-stacked.png`: the same, stacked;
 * - `table.png`: an instant query of a 90th percentile by cluster;
 * - `blocks.png`: the block browser, one day's shards open and its samples counted;
 * - `status.png`: the status page.
 *
 * Run: `deno run -A examples/ui_screenshots.ts [OUTPUT_DIR]` (default: a new temporary directory).
 *
 * @module
 */
import { Browser, chromiumAvailable, type Page } from "../tests/chromium.ts";
import { convertOnce, startServe } from "../tests/oracle/gateway.ts";
import { writeDemoBlocks } from "./demo.ts";

async function save(page: Page, dir: string, name: string, fullPage = false): Promise<void> {
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, await page.screenshot(fullPage));
  console.log(`saved ${path}`);
}

if (import.meta.main) {
  if (!(await chromiumAvailable())) {
    console.error("ui_screenshots: /usr/bin/chromium is not installed (apt-get install chromium)");
    Deno.exit(1);
  }
  const out = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "ui-screenshots-" });
  await Deno.mkdir(out, { recursive: true });
  const root = await Deno.makeTempDir({ prefix: "ui-demo-" });
  let gateway;
  let browser;
  try {
    console.log("writing and converting the demo data ...");
    await writeDemoBlocks(`${root}/tsdb`);
    await convertOnce(root, ["--convert.max-plan-days=4"]);
    gateway = await startServe(root);
    browser = await Browser.launch();
    const page = await browser.newPage(1440, 900);

    const graph = new URLSearchParams({
      "g0.expr": "sum by (cluster, job) (rate(http_requests_total[5m]))",
      "g0.tab": "0",
      "g0.range_input": "1d",
    });
    await page.goto(`${gateway.url}/graph?${graph}`);
    await page.waitFor("document.querySelector('.chart[data-series]')");
    const box = await page.evaluate<{ x: number; y: number; w: number; h: number }>(
      `(() => { const r = document.querySelector('.u-over').getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`,
    );
    await page.hover(box.x + box.w * 0.6, box.y + box.h * 0.3);
    await page.waitFor("!document.querySelector('.hover').hidden");
    await save(page, out, "graph.png");
    await page.click(".segmented .seg:last-child");
    await page.waitFor(
      "document.querySelector('.seg.active')?.textContent === 'Stacked' && " +
        "!document.querySelector('.result-area.busy') && document.querySelector('.chart .uplot')",
    );
    await save(page, out, "graph-stacked.png");

    const table = new URLSearchParams({
      "g0.expr": "histogram_quantile(0.9, sum by (cluster, le) " +
        "(rate(http_request_duration_seconds_bucket[5m])))",
      "g0.tab": "1",
    });
    await page.goto(`${gateway.url}/graph?${table}`);
    await page.waitFor("document.querySelector('table.result tbody tr')");
    await save(page, out, "table.png");

    await page.goto(`${gateway.url}/blocks`);
    await page.waitFor("document.querySelector('section.stream')");
    await page.click("tr.day .expander:not(:disabled)");
    await page.click("tr.day button.small");
    await page.waitFor("!document.querySelector('tr.day button.small[disabled]')", 60_000);
    await save(page, out, "blocks.png", true);

    await page.goto(`${gateway.url}/status`);
    await page.waitFor("document.querySelectorAll('table.limits tr').length > 0");
    await save(page, out, "status.png", true);
    if (page.errors.length > 0) console.warn("page errors:", page.errors);
  } finally {
    await browser?.close();
    await gateway?.stop();
    await Deno.remove(root, { recursive: true });
  }
}
