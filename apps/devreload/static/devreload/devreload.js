// Live reload for development (apps.devreload). The server adds this script to
// HTML pages only when DEBUG is on. It listens on the server's own Channels
// socket: stylesheets are swapped in place, anything else reloads the page,
// a failing listener route shows an overlay, and a restarted server (a new
// server id after reconnecting) reloads the page once it is back.
(() => {
  "use strict";

  const RETRY_FIRST = 100; // ms before the first reconnection attempt
  const RETRY_MAX = 1000; // ms: the longest wait between attempts

  const script = document.currentScript;
  const socketUrl = new URL(script.dataset.path, location.href);
  socketUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";

  // Inspectable from the console (and by the browser tests).
  const state = (window.devreload = { status: "connecting", serverId: null, swaps: 0 });
  let retry = RETRY_FIRST;

  // Also on <html data-devreload="…">: visible without script access (a strict CSP forbids eval).
  function setStatus(status) {
    state.status = status;
    document.documentElement.dataset.devreload = status;
  }

  function connect() {
    const socket = new WebSocket(socketUrl);
    socket.addEventListener("open", () => {
      retry = RETRY_FIRST;
    });
    socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      // Closed by a restart (or never opened while the server is down): try again.
      setStatus("reconnecting");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, RETRY_MAX);
    });
  }

  function handle(message) {
    switch (message.type) {
      case "hello":
        if (state.serverId !== null && state.serverId !== message.server_id) {
          reload("the server restarted");
          return;
        }
        state.serverId = message.server_id;
        setStatus("open");
        showFailures(message.failures);
        break;
      case "reload":
        reload((message.files || []).join(", ") + " changed");
        break;
      case "css":
        swapStylesheets(message.urls);
        break;
      case "failures":
        showFailures(message.failures);
        break;
    }
  }

  function reload(why) {
    setStatus("reloading");
    console.info(`[devreload] ${why}: reloading`);
    location.reload();
  }

  // Swap each changed stylesheet for a fresh copy of itself; the old one goes
  // once the new one has loaded, so nothing flashes unstyled. When no <link>
  // names the file (it is @imported, say), every local stylesheet is swapped.
  function swapStylesheets(urls) {
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')].filter(
      (link) => new URL(link.href).origin === location.origin,
    );
    const named = links.filter((link) => urls.includes(new URL(link.href).pathname));
    for (const link of named.length ? named : links) {
      const fresh = link.cloneNode();
      const href = new URL(link.href);
      href.searchParams.set("devreload", String(Date.now()));
      fresh.href = href.href;
      fresh.addEventListener("load", () => link.remove(), { once: true });
      fresh.addEventListener("error", () => fresh.remove(), { once: true });
      link.after(fresh);
    }
    state.swaps += 1;
    console.info(`[devreload] ${urls.join(", ")} changed: stylesheets swapped`);
  }

  // The overlay lives in a shadow root: the page's styles cannot reach it.
  function showFailures(failures) {
    let host = document.getElementById("devreload-overlay");
    if (!failures || failures.length === 0) {
      if (host) host.remove();
      return;
    }
    if (!host) {
      host = document.createElement("div");
      host.id = "devreload-overlay";
      host.attachShadow({ mode: "open" });
      document.body.append(host);
    }
    const root = host.shadowRoot;
    root.replaceChildren();
    const style = document.createElement("style");
    style.textContent = `
      .box { position: fixed; inset: 0; z-index: 2147483647; overflow: auto; padding: 2rem;
             background: rgba(20, 20, 20, .92); color: #eee; font: 14px/1.4 ui-monospace, monospace; }
      h2 { color: #ff6b6b; font-size: 1.1rem; margin: 0 0 .5rem; }
      pre { white-space: pre-wrap; margin: 0 0 1.5rem; }
      button { position: absolute; top: 1rem; right: 1rem; font-size: 1.2rem; }`;
    const box = document.createElement("div");
    box.className = "box";
    box.setAttribute("role", "alert");
    const close = document.createElement("button");
    close.textContent = "×";
    close.title = "Hide until the next failure";
    close.addEventListener("click", () => host.remove());
    box.append(close);
    for (const failure of failures) {
      const title = document.createElement("h2");
      title.textContent = `Listener failed: ${failure.route}`;
      const output = document.createElement("pre");
      output.textContent = failure.output;
      box.append(title, output);
    }
    root.append(style, box);
  }

  connect();
})();
