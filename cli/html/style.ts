// The exported page's own stylesheet (layout, prompts, outputs, ANSI colours).

export const PAGE_CSS = `
:root { --border: #e0e0e0; --muted: #6a737d; --code-bg: #f7f7f7; --err-bg: #fdecea; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff; }
main.notebook { max-width: 1000px; margin: 0 auto; padding: 24px 16px 64px; }
.cell { display: grid; grid-template-columns: 72px minmax(0, 1fr); column-gap: 8px; margin: 12px 0; }
.prompt { grid-column: 1; color: var(--muted); font: 12px/1.6 ui-monospace, SFMono-Regular, Menlo, monospace; text-align: right; padding-top: 6px; white-space: nowrap; }
.cell > .input, .cell > .outputs, .cell > .markdown-body, .cell > .raw { grid-column: 2; }
.input pre { margin: 0; border: 1px solid var(--border); border-radius: 4px; background: var(--code-bg); }
.input pre code.hljs { background: transparent; padding: 8px 10px; }
.magic { color: #8250df; font-weight: 600; }
.outputs { display: contents; }
.output-row { display: contents; }
.output-row > .prompt { color: #b54708; }
.output { grid-column: 2; overflow-x: auto; padding: 4px 0; }
.output pre { margin: 0; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap; word-break: break-word; }
.output.stream.stderr { background: #fff5f5; }
.output.error pre { background: var(--err-bg); padding: 6px 8px; border-radius: 4px; }
.output img, .output svg { max-width: 100%; height: auto; }
.output table { border-collapse: collapse; max-width: 100%; font-size: 13px; }
.output th, .output td { border: 1px solid var(--border); padding: 2px 8px; overflow-wrap: anywhere; }
.markdown-body h1, .markdown-body h2 { border-bottom: 1px solid var(--border); padding-bottom: .2em; }
.markdown-body pre { background: var(--code-bg); padding: 8px; border-radius: 4px; overflow-x: auto; }
.markdown-body img { max-width: 100%; }
.vega-output.vega-rendered .vega-fallback { display: none; }
.ansi-bold { font-weight: bold; } .ansi-underline { text-decoration: underline; }
.ansi-black-fg { color: #3e424d; } .ansi-red-fg { color: #c4271a; } .ansi-green-fg { color: #00862f; }
.ansi-yellow-fg { color: #a16800; } .ansi-blue-fg { color: #0057c2; } .ansi-magenta-fg { color: #a12ea8; }
.ansi-cyan-fg { color: #007a8a; } .ansi-white-fg { color: #8a8a8a; }
.ansi-bright-black-fg { color: #6a6a6a; } .ansi-bright-red-fg { color: #e5493a; } .ansi-bright-green-fg { color: #1aa34a; }
.ansi-bright-yellow-fg { color: #c28a00; } .ansi-bright-blue-fg { color: #2f7de1; } .ansi-bright-magenta-fg { color: #c54fcb; }
.ansi-bright-cyan-fg { color: #1a9fb0; } .ansi-bright-white-fg { color: #a5a5a5; }
.ansi-red-bg { background: #fbd0cc; } .ansi-green-bg { background: #c9f0d5; } .ansi-yellow-bg { background: #fbefc0; }
.ansi-blue-bg { background: #cfe0fb; } .ansi-magenta-bg { background: #f0d0f2; } .ansi-cyan-bg { background: #c9eef2; }
`;

/**
 * Runs in the page: embeds every chart with vega-embed, hides the static fallback on success,
 * and refuses network data URLs so the page stays offline.
 */
export const PAGE_SCRIPT = `
(function () {
  "use strict";
  // A loader per chart that refuses network URLs and remembers it did, so a chart whose
  // data would come from the internet keeps its static fallback instead of drawing empty.
  function offlineLoader(refused) {
    var loader = vega.loader();
    var sanitize = loader.sanitize.bind(loader);
    loader.sanitize = function (uri, options) {
      if (/^([a-z]+:)?\\/\\//i.test(uri)) {
        refused.push(uri);
        return Promise.reject(new Error("this page works offline and does not fetch " + uri));
      }
      return sanitize(uri, options);
    };
    return loader;
  }
  document.querySelectorAll(".vega-output").forEach(function (el) {
    var spec = JSON.parse(el.querySelector("script.vega-spec").textContent);
    var refused = [];
    var target = el.querySelector(".vega-target");
    var options = {
      mode: el.getAttribute("data-mode"),
      renderer: "svg",
      loader: offlineLoader(refused),
      actions: { export: true, source: false, compiled: false, editor: false }
    };
    vegaEmbed(target, spec, options).then(function (result) {
      return result.view.runAsync();
    }).then(function () {
      if (refused.length) throw new Error("this page works offline and does not fetch " + refused.join(", "));
      el.classList.add("vega-rendered");
    }).catch(function (err) {
      target.textContent = "";
      el.classList.add("vega-failed");
      console.error("chart " + el.id + " shows its static image: " + (err && err.message));
    });
  });
})();
`;
