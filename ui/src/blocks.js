// The block browser: the streams (external labels) and days the gateway discovered, with each
// day's meta.pb, shards, series, file sizes and sync state; sample counts on request.
import { api } from "./api.js";
import { formatBytes, formatCount, formatSeries, formatTime, h } from "./format.js";

const STATE_TEXT = {
  loaded: "loaded",
  failed: "failed",
  filtered: "filtered out",
  pending: "not synced yet",
};

function sum(days, key) {
  return days.reduce((n, d) => n + (d[key] ?? 0), 0);
}

function samplesCell(stream, day) {
  const cell = h("td", { class: "num" });
  if (day.state !== "loaded") return cell;
  const button = h("button", { type: "button", class: "small" }, "count");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "counting…";
    try {
      const { data } = await api("api/v1/gateway/blocks/samples", {
        params: { stream: stream.hash, date: day.date },
      });
      cell.replaceChildren(
        h(
          "span",
          { title: `${formatCount(data.chunks)} chunks` },
          formatCount(data.samples),
        ),
      );
    } catch (err) {
      cell.replaceChildren(
        h("span", { class: "error-text", title: err.message }, "failed"),
      );
    }
  });
  cell.append(button);
  return cell;
}

function shardTable(day) {
  return h(
    "table",
    { class: "shards" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        [
          "Shard",
          "Series",
          "Row groups",
          "Label columns",
          "Labels file",
          "Chunks file",
        ].map((t) => h("th", {}, t)),
      ),
    ),
    h(
      "tbody",
      {},
      day.shardStats.map((s) =>
        h(
          "tr",
          {},
          h("td", { class: "num" }, s.index),
          h("td", { class: "num" }, formatCount(s.series)),
          h("td", { class: "num" }, s.rowGroups),
          h("td", { class: "num" }, s.labelColumns),
          h("td", {
            class: "num",
            title: `${formatCount(s.labelsBytes)} bytes`,
          }, formatBytes(s.labelsBytes)),
          h("td", {
            class: "num",
            title: `${formatCount(s.chunksBytes)} bytes`,
          }, formatBytes(s.chunksBytes)),
        )
      ),
    ),
  );
}

function dayRows(stream, day) {
  const loaded = day.state === "loaded";
  const toggle = h(
    "button",
    {
      type: "button",
      class: "expander",
      "aria-expanded": "false",
      disabled: !loaded,
      title: "Shards",
    },
    day.date,
  );
  const row = h(
    "tr",
    { class: `day state-${day.state}`, "data-date": day.date },
    h("td", {}, toggle),
    h(
      "td",
      {},
      h(
        "span",
        { class: `badge ${day.state}` },
        STATE_TEXT[day.state] ?? day.state,
      ),
    ),
    h(
      "td",
      { class: "time" },
      `${formatTime(day.minTime)} – ${formatTime(day.maxTime)}`,
    ),
    h("td", { class: "num" }, day.version === undefined ? "" : `v${day.version}`),
    h("td", { class: "num" }, day.shards),
    h("td", { class: "num" }, formatCount(day.series)),
    samplesCell(stream, day),
    h("td", { class: "num" }, formatBytes(day.labelsBytes)),
    h("td", { class: "num" }, formatBytes(day.chunksBytes)),
    h(
      "td",
      { class: "num", title: day.sourceBlocks?.join("\n") },
      day.sourceBlocks?.length ?? "",
    ),
  );
  const rows = [row];
  if (day.state === "failed") {
    rows.push(h(
      "tr",
      { class: "reason" },
      h(
        "td",
        { colspan: 10 },
        h(
          "div",
          { class: "alert error" },
          day.corruptedLabelsFile
            ? "Corrupted labels file (deleted; downloaded again by the next sync): "
            : "",
          day.error,
          day.failedAt ? ` (at ${formatTime(day.failedAt)} UTC)` : "",
        ),
      ),
    ));
  }
  if (loaded) {
    const detail = h(
      "tr",
      { class: "detail", hidden: true },
      h("td", { colspan: 10 }, shardTable(day)),
    );
    toggle.addEventListener("click", () => {
      detail.hidden = !detail.hidden;
      toggle.setAttribute("aria-expanded", String(!detail.hidden));
    });
    rows.push(detail);
  }
  return rows;
}

function streamSection(stream) {
  const labels = Object.keys(stream.externalLabels).length
    ? formatSeries(stream.externalLabels)
    : stream.hash === "0"
    ? "no external labels"
    : "external labels unknown";
  const days = stream.days;
  const counts = Object.entries(
    days.reduce((m, d) => ({ ...m, [d.state]: (m[d.state] ?? 0) + 1 }), {}),
  ).map(([state, n]) => `${n} ${STATE_TEXT[state] ?? state}`).join(", ");
  return h(
    "section",
    { class: "stream", "data-stream": stream.hash },
    h(
      "h2",
      {},
      h("code", {}, labels),
      h("small", {}, ` stream ${stream.hash}`),
    ),
    stream.error ? h("div", { class: "alert error" }, `Stream left out: ${stream.error}`) : "",
    h(
      "p",
      { class: "meta" },
      `${days.length} day${days.length === 1 ? "" : "s"} (${counts}); ${
        formatCount(sum(days, "series"))
      } series, `,
      `${formatBytes(sum(days, "labelsBytes") + sum(days, "chunksBytes"))} in loaded files`,
    ),
    h(
      "table",
      { class: "days" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [
            "Day",
            "State",
            "Time range (UTC)",
            "Format",
            "Shards",
            "Series",
            "Samples",
            "Labels files",
            "Chunks files",
            "Source blocks",
          ].map((t) => h("th", {}, t)),
        ),
      ),
      h("tbody", {}, days.slice().reverse().flatMap((d) => dayRows(stream, d))),
    ),
  );
}

/** Renders the block browser into `page`. */
export async function blocksPage(page) {
  page.replaceChildren(
    h("h1", {}, "Blocks"),
    h("p", { class: "loading" }, "Loading…"),
  );
  let data;
  try {
    ({ data } = await api("api/v1/gateway/blocks"));
  } catch (err) {
    page.replaceChildren(
      h("h1", {}, "Blocks"),
      h("div", { class: "alert error" }, err.message),
    );
    return;
  }
  const days = data.streams.flatMap((s) => s.days);
  const failed = days.filter((d) => d.state === "failed").length;
  page.replaceChildren(
    h("h1", {}, "Blocks"),
    h(
      "p",
      { class: "meta summary" },
      `${data.streams.length} stream${data.streams.length === 1 ? "" : "s"}, ${days.length} days, `,
      `${days.filter((d) => d.state === "loaded").length} loaded`,
      failed ? h("span", { class: "error-text" }, `, ${failed} failed`) : "",
      `. Discovered ${data.discoveredAt ? formatTime(data.discoveredAt) + " UTC" : "never"}, `,
      `synced ${data.syncedAt ? formatTime(data.syncedAt) + " UTC" : "never"}.`,
    ),
    data.streams.length === 0
      ? h("p", { class: "empty" }, "The bucket holds no Parquet days.")
      : "",
    ...data.streams.map(streamSection),
  );
}
