/**
 * Drives Debian's headless Chromium over the DevTools protocol (a WebSocket, no browser
 * download, no npm package), for the query UI's browser test and its screenshots: open a page,
 * evaluate script in it, wait for a condition, type and press keys, take screenshots. Every
 * request the page makes is recorded, with the page's uncaught exceptions and console errors.
 *
 * @module
 */

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser is installed. */
export async function chromiumAvailable(): Promise<boolean> {
  try {
    return (await Deno.stat(CHROMIUM)).isFile;
  } catch {
    return false;
  }
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  method: string;
}

type EventHandler = (params: Record<string, unknown>, sessionId?: string) => void;

/** A DevTools protocol connection (the browser's; pages are sessions on it). */
class Connection {
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #handlers: EventHandler[] = [];
  #closed = false;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (!p) return;
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result ?? {});
      } else {
        for (const h of this.#handlers) h({ method: msg.method, ...msg.params }, msg.sessionId);
      }
    };
    socket.onclose = () => {
      this.#closed = true;
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: connection closed`));
      this.#pending.clear();
    };
  }

  static open(url: string): Promise<Connection> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve(new Connection(socket));
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error(`${method}: connection closed`));
    const id = this.#nextId++;
    this.#socket.send(JSON.stringify({ id, method, params, sessionId }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, method }));
  }

  on(handler: EventHandler): void {
    this.#handlers.push(handler);
  }

  close(): void {
    this.#socket.close();
  }
}

/** A tab. */
export class Page {
  /** URLs the page requested, in order. */
  readonly requests: string[] = [];
  /** Uncaught exceptions and console errors of the page. */
  readonly errors: string[] = [];
  #loads: (() => void)[] = [];

  /** @internal Use {@linkcode Browser.newPage}. */
  constructor(private readonly conn: Connection, private readonly session: string) {
    conn.on((ev, sessionId) => {
      if (sessionId !== session) return;
      if (ev.method === "Network.requestWillBeSent") {
        this.requests.push((ev.request as { url: string }).url);
      } else if (ev.method === "Page.loadEventFired") {
        for (const done of this.#loads.splice(0)) done();
      } else if (ev.method === "Runtime.exceptionThrown") {
        const d = ev.exceptionDetails as { text: string; exception?: { description?: string } };
        this.errors.push(d.exception?.description ?? d.text);
      } else if (ev.method === "Runtime.consoleAPICalled" && ev.type === "error") {
        const args = ev.args as { value?: unknown; description?: string }[];
        this.errors.push(args.map((a) => a.description ?? String(a.value)).join(" "));
      }
    });
  }

  /** Sends a DevTools command to this page. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.conn.send(method, params, this.session);
  }

  /** Loads `url` and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => this.#loads.push(resolve));
    const nav = await this.send("Page.navigate", { url });
    if (nav.errorText) throw new Error(`${url}: ${nav.errorText}`);
    await loaded;
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails as { text: string; exception?: { description?: string } };
      throw new Error(`${expression}: ${d.exception?.description ?? d.text}`);
    }
    return (r.result as { value: T }).value;
  }

  /**
   * Polls `expression` until it is truthy; returns its value (`true` for a DOM node), or throws
   * after `timeoutMs`.
   */
  async waitFor<T>(expression: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const wrapped = `(async () => { const v = await (${expression}); ` +
      `return v instanceof Node ? true : v; })()`;
    for (;;) {
      const v = await this.evaluate<T>(wrapped);
      if (v) return v;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${expression}; page errors: ${this.errors}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Types `text` into the focused element, as an input method would. */
  async type(text: string): Promise<void> {
    await this.send("Input.insertText", { text });
  }

  /** Presses and releases a key (`Enter`, `Escape`, a character), with modifiers (bit mask). */
  async press(key: string, modifiers = 0): Promise<void> {
    const named: Record<string, [string, number]> = {
      Enter: ["Enter", 13],
      Escape: ["Escape", 27],
      Tab: ["Tab", 9],
    };
    const [code, keyCode] = named[key] ??
      [`Key${key.toUpperCase()}`, key.toUpperCase().charCodeAt(0)];
    const text = key === "Enter" ? "\r" : key.length === 1 ? key : undefined;
    const common = { key, code, windowsVirtualKeyCode: keyCode, modifiers };
    await this.send("Input.dispatchKeyEvent", { type: "keyDown", text, ...common });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
  }

  /** Clicks the centre of the first element matching `selector`. */
  async click(selector: string): Promise<void> {
    const box = await this.waitFor<{ x: number; y: number }>(
      `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null;
        e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`,
    );
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        x: box.x,
        y: box.y,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /** Moves the mouse to page coordinates. */
  async hover(x: number, y: number): Promise<void> {
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
  }

  /** A PNG of the page (the whole page with `fullPage`). */
  async screenshot(fullPage = false): Promise<Uint8Array> {
    const params: Record<string, unknown> = { format: "png" };
    if (fullPage) {
      const size = await this.evaluate<{ w: number; h: number }>(
        "({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })",
      );
      params.captureBeyondViewport = true;
      params.clip = { x: 0, y: 0, width: size.w, height: size.h, scale: 1 };
    }
    const r = await this.send("Page.captureScreenshot", params);
    return Uint8Array.from(atob(r.data as string), (c) => c.charCodeAt(0));
  }
}

/** A running headless Chromium. */
export class Browser {
  private constructor(
    private readonly child: Deno.ChildProcess,
    private readonly conn: Connection,
    private readonly profile: string,
  ) {}

  /**
   * Starts headless Chromium with a fresh profile, no network services of its own (no update,
   * sync or background requests), listening for DevTools on a free loopback port.
   */
  static async launch(): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--mute-audio",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Chromium prints the DevTools address on standard error; the rest is drained unread.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
    let url: string | undefined;
    try {
      while (!url) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`chromium exited before listening:\n${log}`);
        log += value;
        url = /DevTools listening on (ws:\/\/\S+)/.exec(log)?.[1];
      }
    } catch (err) {
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw err;
    } finally {
      clearTimeout(deadline);
    }
    (async () => {
      while (!(await reader.read()).done) { /* drained */ }
    })();
    return new Browser(child, await Connection.open(url), profile);
  }

  /** Opens a tab of `width` x `height` CSS pixels with its events recorded. */
  async newPage(width = 1280, height = 900): Promise<Page> {
    const { targetId } = await this.conn.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.conn.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this.conn, sessionId as string);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Network.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  /** Stops the browser and removes its profile. */
  async close(): Promise<void> {
    await this.conn.send("Browser.close").catch(() => {});
    this.conn.close();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.child.status;
    clearTimeout(timer);
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}
