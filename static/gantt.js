// The web Gantt chart (templates/gantt.html), made better by script; everything works without it:
// the scale links load a new page, groups collapse by <details>, details show on hover and focus by CSS.
// With it: one Tab stop for the whole chart and a walk with the arrow keys, scales switched without a
// reload (+/- zoom), collapse/expand all, the reporting date scrolled into view. No inline code (CSP).
(function () {
  "use strict";
  var SCALES = ["year", "quarter", "month"];
  var ITEMS = "summary.g-summary, .g-bar";

  function chart() { return document.getElementById("gantt"); }

  function visibleItems(root) {
    return Array.prototype.filter.call(root.querySelectorAll(ITEMS), function (el) {
      // inside a closed group: not drawn, not walked (a closed <details> may keep its content's boxes)
      return el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0;
    });
  }

  function scroller(root) { return root.querySelector(".g-scroll"); }

  function namesWidth(root) {
    var name = root.querySelector(".g-head .g-name"), light = root.querySelector(".g-head .g-light");
    return (name ? name.offsetWidth : 0) + (light ? light.offsetWidth : 0);
  }

  // One Tab stop: the item last walked to (the first at the start); the rest are reached with the arrows.
  function makeCurrent(root, item) {
    Array.prototype.forEach.call(root.querySelectorAll(ITEMS), function (el) {
      el.setAttribute("tabindex", el === item ? "0" : "-1");
    });
  }

  function rowOf(item) { return item.closest(".g-row"); }

  // Bring a row into the scroll box: vertically just enough, horizontally to its bar when the bar is out of sight.
  function reveal(root, item) {
    var box = scroller(root), row = rowOf(item);
    if (!box || !row) { return; }
    var head = root.querySelector(".g-head");
    var top = row.getBoundingClientRect().top - box.getBoundingClientRect().top;
    var headHeight = head ? head.offsetHeight : 0;
    if (top < headHeight) { box.scrollTop += top - headHeight; }
    else if (top + row.offsetHeight > box.clientHeight) { box.scrollTop += top + row.offsetHeight - box.clientHeight; }
    // and the page itself, when the box runs past the window
    var rowRect = row.getBoundingClientRect();
    if (rowRect.bottom > window.innerHeight) { window.scrollBy(0, rowRect.bottom - window.innerHeight + 8); }
    else if (rowRect.top < 0) { window.scrollBy(0, rowRect.top - 8); }
    var bar = item.querySelector(".g-outline");
    if (bar) {
      var left = namesWidth(root);
      var rect = bar.getBoundingClientRect(), boxRect = box.getBoundingClientRect();
      var x = rect.left - boxRect.left;
      if (x + rect.width < left + 20 || x > box.clientWidth - 20) {
        box.scrollLeft += x - left - 40;
      }
    }
    // the details open upwards in the lower half of the box, so they are not cut off
    var tip = row.querySelector(".g-tip");
    if (tip) {
      var rowTop = row.getBoundingClientRect().top - box.getBoundingClientRect().top;
      tip.classList.toggle("g-tip-up", rowTop > box.clientHeight / 2);
    }
  }

  function walkTo(root, item) {
    if (!item) { return; }
    makeCurrent(root, item);
    item.focus({ preventScroll: true });
    reveal(root, item);
  }

  function groupSummary(el) {
    var details = el.closest("details");
    if (details && el.tagName === "SUMMARY") { details = details.parentElement.closest("details"); }
    return details ? details.querySelector(":scope > summary") : null;
  }

  function zoom(step) {
    var root = chart();
    if (!root) { return; }
    var next = SCALES[SCALES.indexOf(root.getAttribute("data-scale")) + step];
    var link = next && document.querySelector('.gantt-scales a[data-scale="' + next + '"]');
    if (link) { switchScale(link.href, true); }
  }

  function onKey(event) {
    var root = chart();
    var item = event.target.closest ? event.target.closest(ITEMS) : null;
    if (!root || !item || !root.contains(item)) { return; }
    var items = visibleItems(root), at = items.indexOf(item);
    var details = item.tagName === "SUMMARY" ? item.parentElement : null;
    switch (event.key) {
      case "ArrowDown": walkTo(root, items[at + 1]); break;
      case "ArrowUp": walkTo(root, items[at - 1]); break;
      case "Home": walkTo(root, items[0]); break;
      case "End": walkTo(root, items[items.length - 1]); break;
      case "ArrowLeft":
        if (details && details.open) { details.open = false; reveal(root, item); }
        else { walkTo(root, groupSummary(item)); }
        break;
      case "ArrowRight":
        if (details && !details.open) { details.open = true; }
        else if (details) { walkTo(root, visibleItems(root)[at + 1]); }
        break;
      case "Enter":
        if (!details) {
          var link = rowOf(item).querySelector("a.g-label");
          if (link) { link.click(); }
        }
        return;
      case "+": case "=": zoom(1); break;
      case "-": case "_": zoom(-1); break;
      default: return;
    }
    event.preventDefault();
  }

  // the date in the middle of the time area, as a fraction of the axis: kept when the scale changes,
  // unless the reporting-date line is in sight (null: the new scale opens on that line again)
  function centreFraction(root) {
    var box = scroller(root), axis = root.querySelector(".g-axis");
    if (!box || !axis) { return null; }
    var left = namesWidth(root), x = parseFloat(root.getAttribute("data-as-of-x"));
    if (!isNaN(x) && x >= box.scrollLeft && x <= box.scrollLeft + box.clientWidth - left) { return null; }
    return (box.scrollLeft + (box.clientWidth - left) / 2) / axis.width.baseVal.value;
  }

  function scrollToFraction(root, fraction) {
    var box = scroller(root), axis = root.querySelector(".g-axis");
    if (!box || !axis || fraction === null) { return; }
    var left = namesWidth(root);
    box.scrollLeft = fraction * axis.width.baseVal.value - (box.clientWidth - left) / 2;
  }

  function scrollToAsOf(root) {
    var x = parseFloat(root.getAttribute("data-as-of-x")), box = scroller(root);
    if (isNaN(x) || !box) { return; }
    box.scrollLeft = x - (box.clientWidth - namesWidth(root)) / 2;
  }

  function setUp(fraction) {
    var root = chart();
    Array.prototype.forEach.call(document.querySelectorAll("[data-gantt-toggle]"), function (button) {
      button.hidden = !root || !root.classList.contains("gantt");
    });
    if (!root || !root.classList.contains("gantt")) { return; }
    root.classList.add("js");
    // the names stay links for the mouse; the keyboard opens a project with Enter on its bar
    Array.prototype.forEach.call(root.querySelectorAll("a.g-label"), function (a) { a.setAttribute("tabindex", "-1"); });
    makeCurrent(root, visibleItems(root)[0]);
    if (fraction === undefined || fraction === null) { scrollToAsOf(root); } else { scrollToFraction(root, fraction); }
  }

  // a scale without a reload: the page for the scale's link is fetched and its main part put in place
  function switchScale(href, keepFocus) {
    var root = chart();
    var fraction = root && root.classList.contains("gantt") ? centreFraction(root) : null;
    var hadFocus = root && root.contains(document.activeElement);
    return fetch(href, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
      var main = document.querySelector("main");
      if (!fresh || !main) { window.location.href = href; return; }
      main.replaceWith(fresh);
      window.history.pushState({ gantt: true }, "", href);
      shown = window.location.pathname + window.location.search;
      setUp(fraction);
      var focus = null;
      if (keepFocus && hadFocus) { focus = visibleItems(chart())[0]; }
      if (!focus) { focus = document.querySelector(".gantt-scales a[aria-current]"); }
      if (focus) { focus.focus({ preventScroll: true }); }
    }).catch(function () { window.location.href = href; });
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("focusin", function (event) {
    var root = chart();
    var item = event.target.closest ? event.target.closest(ITEMS) : null;
    if (root && item && root.contains(item)) { makeCurrent(root, item); reveal(root, item); }
  });
  document.addEventListener("mouseover", function (event) {
    var root = chart();
    var row = event.target.closest ? event.target.closest(".g-row") : null;
    var tip = row && row.querySelector(".g-tip");
    if (root && tip && root.contains(row)) {
      var box = scroller(root);
      var top = row.getBoundingClientRect().top - box.getBoundingClientRect().top;
      tip.classList.toggle("g-tip-up", top > box.clientHeight / 2);
    }
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".gantt-scales a") : null;
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
      event.preventDefault();
      switchScale(link.href, false);
      return;
    }
    var toggle = event.target.closest ? event.target.closest("[data-gantt-toggle]") : null;
    var root = chart();
    if (toggle && root) {
      var open = toggle.getAttribute("data-gantt-toggle") === "open";
      Array.prototype.forEach.call(root.querySelectorAll("details.g-group"), function (d) { d.open = open; });
      makeCurrent(root, visibleItems(root)[0]);
    }
  });
  // Back and Forward over scales switched in place load the scale shown in the address (a fragment is no new page)
  var shown = window.location.pathname + window.location.search;
  window.addEventListener("popstate", function () {
    if (window.location.pathname + window.location.search !== shown) { window.location.reload(); }
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", function () { setUp(); }); }
  else { setUp(); }
})();
