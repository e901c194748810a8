#include "assets.hpp"

namespace libreta::cli::app {
namespace {

// Phone first: one column, tap targets of 44 px at least, inputs of 16 px (a phone zooms
// into smaller ones), dark text on white for sunlight; wider screens get a centred column.
constexpr std::string_view kStylesheet = R"css(
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#f2f3f5;padding-bottom:76px;overflow-wrap:anywhere}
main{max-width:760px;margin:0 auto;padding:12px}
h1{font-size:1.45rem;margin:8px 0 12px;line-height:1.2}
h1 small{display:block;font-size:.95rem;font-weight:500;color:#3d4450}
h2{font-size:1.1rem;margin:0 0 8px}
h3{font-size:1rem;margin:12px 0 4px}
a{color:#0645ad}
.top{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #c9ced6}
.sync-bar{display:flex;align-items:center;gap:6px;min-height:44px;padding:4px 12px;max-width:760px;margin:0 auto;color:#111;text-decoration:none;font-size:.875rem;flex-wrap:wrap}
#sync-text{flex:1 1 0;min-width:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#sync-alerts:empty{display:none}
.sync-bar .dot{width:12px;height:12px;border-radius:50%;background:#6b7280;flex:none}
.sync-bar[data-state=online] .dot{background:#137333}
.sync-bar[data-state=syncing] .dot{background:#0b57d0}
.sync-bar[data-state=offline] .dot{background:#b06000}
.sync-bar[data-state=problem] .dot{background:#b3261e}
#sync-alerts{color:#b3261e;font-weight:600}
.tabs{position:fixed;bottom:0;left:0;right:0;z-index:2;display:flex;background:#fff;border-top:1px solid #c9ced6}
.tabs a{flex:1;min-width:0;display:flex;flex-direction:column;align-items:center;justify-content:center;min-height:60px;color:#3d4450;text-decoration:none;font-size:.8rem;white-space:nowrap;overflow-wrap:normal}
.tabs a[aria-current=page]{color:#0b57d0;font-weight:700}
.tabs .icon{font-size:1.3rem;line-height:1}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:10px;padding:12px;margin:0 0 12px}
.count{display:inline-block;min-width:1.6em;padding:0 6px;border-radius:10px;background:#e6e9ee;font-size:.85rem;text-align:center}
.items{list-style:none;margin:0;padding:0}
.items li{display:flex;align-items:center;gap:8px;border-top:1px solid #e6e9ee}
.items li:first-child{border-top:0}
.item{flex:1;display:block;min-height:48px;padding:8px 0;color:#111;text-decoration:none}
.item strong{display:block}
.item .detail,.item .note{display:block;color:#3d4450;font-size:.9rem}
.item .trade{color:#3d4450;font-size:.9rem}
.overdue .detail{color:#b3261e;font-weight:600}
.done-item strong{text-decoration:line-through;color:#5f6672}
.empty,.more,.hint{color:#4b5260;font-size:.9rem;margin:4px 0}
.timeline{list-style:none;margin:0;padding:0 0 0 14px;border-left:3px solid #d5d9e0}
.timeline li{position:relative;border-top:1px solid #e6e9ee}
.timeline li.lost strong{color:#b3261e}
.history{list-style:none;margin:0;padding:0}
.history li{display:flex;flex-direction:column;padding:8px 0;border-top:1px solid #e6e9ee}
.history li:first-child{border-top:0}
.history .detail{color:#3d4450;font-size:.9rem}
.history li:not(.current) strong{font-weight:400}
button,.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;min-width:44px;padding:8px 16px;border-radius:8px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.secondary{background:#fff;color:#0b57d0}
.danger{background:#b3261e;border-color:#b3261e;color:#fff}
button.done{background:#fff;color:#137333;border-color:#137333}
.actions,.form-actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 12px}
.actions .primary{flex:1 1 100%}
form.inline{display:inline;margin:0}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 8px}
.chip{padding:2px 10px;border-radius:12px;background:#e6e9ee;font-size:.85rem}
.status-active{background:#ceead6}.status-prospect{background:#d3e3fd}.status-lost{background:#f9dedc}
dl{margin:0}
.kv{display:flex;flex-wrap:wrap;gap:0 12px;padding:6px 0;border-top:1px solid #eef0f3}
.kv dt{flex:0 0 9.5em;color:#3d4450;font-size:.9rem}
.kv dd{flex:1 1 12em;margin:0}
.changed{display:block;color:#5f6672;font-size:.8rem}
.contact{border-top:1px solid #d5d9e0;padding-top:6px;margin-top:6px}
fieldset{border:1px solid #d5d9e0;border-radius:10px;padding:8px 12px;margin:0 0 12px;background:#fff;min-width:0}
legend{font-weight:700;padding:0 4px}
.field{margin:8px 0}
.field label{display:block;font-weight:600;margin-bottom:2px}
input[type=text],input[type=email],input[type=tel],input[type=date],input[type=datetime-local],input[type=search],input[type=password],select,textarea{width:100%;min-height:44px;padding:8px 10px;font:inherit;font-size:16px;color:#111;background:#fff;border:1px solid #6b7280;border-radius:8px}
input[type=checkbox]{width:24px;height:24px}
.invalid input,.invalid select,.invalid textarea{border:2px solid #b3261e}
.error{color:#b3261e;font-weight:600;margin:4px 0}
.required{color:#b3261e}
.notice{padding:10px 12px;border-radius:8px;margin:0 0 12px;background:#e8f0fe;border:1px solid #a8c7fa}
.notice.success{background:#e6f4ea;border-color:#a8dab5}
.notice.warning{background:#fef7e0;border-color:#f9d77e}
.notice.error{background:#fce8e6;border-color:#f2b8b5;color:#8c1d18}
.notice p{margin:4px 0}
.search{display:flex;flex-direction:column;gap:8px;margin-bottom:12px}
summary{display:list-item;min-height:44px;padding:11px 0;font-weight:600;cursor:pointer}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:0 12px}
.pager{display:flex;align-items:center;justify-content:space-between;gap:8px;margin:12px 0}
.chips-choice{display:flex;flex-wrap:wrap;gap:8px}
.chip-radio{position:relative}
.chip-radio input{position:absolute;opacity:0;width:1px;height:1px}
.chip-radio span{display:inline-flex;align-items:center;min-height:44px;padding:8px 14px;border:1px solid #6b7280;border-radius:22px;background:#fff}
.chip-radio input:checked+span{background:#0b57d0;border-color:#0b57d0;color:#fff;font-weight:600}
.chip-radio input:focus-visible+span{outline:3px solid #0b57d0;outline-offset:2px}
.outcomes{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.outcomes legend{grid-column:1/-1}
.outcome{min-height:52px}
.outcome-negative,.outcome-lost{background:#fff;color:#b3261e;border-color:#b3261e}
.outcome-neutral{background:#fff;color:#0b57d0}
.lost-details{margin:0 0 12px}
.danger-zone{margin-top:24px}
.items li.conflict{flex-direction:column;align-items:stretch;padding-bottom:8px}
.conflict p{margin:2px 0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
@media (min-width:700px){.tabs{justify-content:center}.tabs a{flex:0 1 190px}.actions .primary{flex:0 1 auto}}
)css";

// Search as you type and a live sync bar; every page also works without it.
constexpr std::string_view kScript = R"js("use strict";
(function () {
  var search = document.querySelector("[data-live-search]");
  if (search) {
    var form = search.form, results = document.getElementById("results"), timer = null, seq = 0;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      params.set("partial", "1");
      var mine = ++seq;
      fetch("/customers?" + params.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && mine === seq) {
            results.innerHTML = html;
            params.delete("partial");
            history.replaceState(null, "", "/customers?" + params.toString());
          }
        }).catch(function () {});
    };
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 120); });
    form.addEventListener("change", function (e) { if (e.target !== search) run(); });
  }
  var bar = document.getElementById("sync-bar");
  if (bar) {
    var refresh = function () {
      fetch("/status", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          bar.setAttribute("data-state", s.state);
          document.getElementById("sync-text").textContent = s.text;
          document.getElementById("sync-alerts").textContent = s.alerts;
        }).catch(function () {});
    };
    setInterval(refresh, 2000);
  }
})();
)js";

constexpr std::string_view kIcon =
    R"svg(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#0b57d0"/><path d="M18 14h22l8 8v28H18z" fill="#fff"/><path d="M24 30h18M24 37h18M24 44h12" stroke="#0b57d0" stroke-width="3"/></svg>)svg";

}  // namespace

std::optional<Asset> asset(std::string_view name) {
  if (name == "app.css") return Asset{"text/css; charset=utf-8", kStylesheet};
  if (name == "app.js") return Asset{"text/javascript; charset=utf-8", kScript};
  if (name == "icon.svg") return Asset{"image/svg+xml", kIcon};
  return std::nullopt;
}

}  // namespace libreta::cli::app
