// The status page: build and runtime information, the bucket, the limits in force and every flag.
import { api } from "./api.js";
import { h } from "./format.js";

function keyValueTable(rows, cls = "kv") {
  return h(
    "table",
    { class: cls },
    h(
      "tbody",
      {},
      rows.map(([k, v, note]) =>
        h(
          "tr",
          {},
          h("th", {}, k),
          h("td", {}, v),
          note !== undefined ? h("td", { class: "help" }, note) : "",
        )
      ),
    ),
  );
}

function section(title, load) {
  const body = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  const el = h("section", { class: "status" }, h("h2", {}, title), body);
  load().then(
    (content) => body.replaceChildren(content),
    (err) => body.replaceChildren(h("div", { class: "alert error" }, err.message)),
  );
  return el;
}

/** Renders the status page into `page`. */
export function statusPage(page) {
  page.replaceChildren(
    h("h1", {}, "Status"),
    section("Build", async () => {
      const { data } = await api("api/v1/status/buildinfo");
      return keyValueTable([
        ["Version", data.version],
        ["Revision", data.revision],
        ["Branch", data.branch],
        ["Build date", data.buildDate],
        ["Runtime", data.goVersion],
      ]);
    }),
    section("Runtime", async () => {
      const { data } = await api("api/v1/status/runtimeinfo");
      return keyValueTable([
        ["Start time", data.startTime],
        ["Working directory", data.CWD],
        ["Hostname", data.hostname],
        ["Configuration loaded", data.lastConfigTime],
        ["Corrupted labels files", String(data.corruptionCount)],
        ["Requests in flight", String(data.goroutineCount)],
        ["Heap limit", `${Math.round(data.GOMEMLIMIT / 1048576)} MiB`],
      ]);
    }),
    section("Bucket", async () => {
      const { data } = await api("api/v1/status/config");
      return h("pre", { class: "config" }, data.yaml);
    }),
    section("Limits in force", async () => {
      const { data } = await api("api/v1/gateway/limits");
      return keyValueTable(
        data.map((l) => [l.name, l.value, l.help]),
        "kv limits",
      );
    }),
    section("Flags", async () => {
      const { data } = await api("api/v1/status/flags");
      const filter = h("input", {
        type: "search",
        placeholder: "Filter flags",
        "aria-label": "Filter flags",
      });
      const table = keyValueTable(
        Object.entries(data).map(([k, v]) => [`--${k}`, v]),
        "kv flags",
      );
      filter.addEventListener("input", () => {
        const q = filter.value.toLowerCase();
        for (const tr of table.querySelectorAll("tr")) {
          tr.hidden = q !== "" && !tr.textContent.toLowerCase().includes(q);
        }
      });
      return h("div", {}, filter, table);
    }),
  );
}
