// The part of pydata-sphinx-theme's scripts/bootstrap.js (81 kB: all of Bootstrap 5 and Popper) that this book's
// pages use, in 10 kB (with these comments); _ext/convviz_pageweight.py loads it instead of that file (same place, also deferred):
//
// * tooltips: every [data-bs-toggle="tooltip"] (shown after 500 ms of hover or focus, hidden 100 ms after), and
//   window.bootstrap.Tooltip for pydata-sphinx-theme.js (new Tooltip(el, {title, trigger, placement,
//   fallbackPlacements, offset}), show(), hide(), dispose()), with Bootstrap's markup and classes
//   (.tooltip.bs-tooltip-auto[data-popper-placement] > .tooltip-arrow + .tooltip-inner), so the theme's CSS
//   draws them as before;
// * dropdowns: [data-bs-toggle="dropdown"] opens and closes the .dropdown-menu next to it (.show,
//   aria-expanded, placed as Popper places it: under the button, shifted to stay in the window), closed by a
//   click elsewhere or on an item, Escape, or opening another; arrow keys move through the items;
// * the theme's back-to-top button (#pst-back-to-top).
(() => {
  "use strict";
  const ready = (fn) => (document.readyState !== "loading" ? fn() : document.addEventListener("DOMContentLoaded", fn));

  // ------------------------------------------------------------------ tooltips
  const tips = new WeakMap();
  let count = 0;

  class Tooltip {
    constructor(el, options = {}) {
      this.el = el;
      this.options = options;
      this.tip = null;
      this.timer = 0;
      this.id = `tooltip${++count}`;
      // like Bootstrap: the native title would show a second tooltip
      const title = el.getAttribute("title");
      if (title) {
        if (!el.getAttribute("aria-label") && !el.textContent.trim()) el.setAttribute("aria-label", title);
        el.setAttribute("data-bs-original-title", title);
        el.removeAttribute("title");
      }
      const trigger = options.trigger || el.getAttribute("data-bs-trigger") || "hover focus";
      const delay = options.delay || { show: 0, hide: 0 };
      if (trigger.includes("hover")) {
        el.addEventListener("mouseenter", () => this.later(() => this.show(), delay.show));
        el.addEventListener("mouseleave", () => this.later(() => this.hide(), delay.hide));
      }
      if (trigger.includes("focus")) {
        el.addEventListener("focusin", () => this.later(() => this.show(), delay.show));
        el.addEventListener("focusout", () => this.later(() => this.hide(), delay.hide));
      }
      tips.set(el, this);
    }

    static getInstance(el) { return tips.get(el) || null; }
    static getOrCreateInstance(el, options) { return tips.get(el) || new Tooltip(el, options); }

    later(fn, ms) {
      clearTimeout(this.timer);
      this.timer = setTimeout(fn, ms || 0);
    }

    title() {
      const el = this.el;
      return this.options.title ?? el.getAttribute("data-bs-title") ?? el.getAttribute("data-bs-original-title") ?? "";
    }

    show() {
      const text = this.title();
      if (!text || !this.el.isConnected || this.el.getClientRects().length === 0) return;
      if (!this.tip) {
        const tip = document.createElement("div");
        tip.className = "tooltip bs-tooltip-auto fade";
        tip.setAttribute("role", "tooltip");
        tip.id = this.id;
        tip.innerHTML = '<div class="tooltip-arrow"></div><div class="tooltip-inner"></div>';
        tip.style.cssText = "position:absolute;inset:0 auto auto 0;margin:0";
        tip.firstElementChild.style.position = "absolute";
        this.tip = tip;
      }
      this.tip.querySelector(".tooltip-inner").textContent = text;
      document.body.appendChild(this.tip);
      this.place();
      this.el.setAttribute("aria-describedby", this.id);
      requestAnimationFrame(() => this.tip && this.tip.classList.add("show"));
    }

    place() {
      const tip = this.tip, r = this.el.getBoundingClientRect();
      const [skid, distance] = this.options.offset || [0, 6];
      const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
      const wanted = this.options.placement || this.el.getAttribute("data-bs-placement") || "top";
      const order = [wanted, ...(this.options.fallbackPlacements || [{ top: "bottom", bottom: "top", left: "right", right: "left" }[wanted]])];
      let best = null;
      for (const placement of order) {
        tip.setAttribute("data-popper-placement", placement); // its padding (room for the arrow) depends on it
        const w = tip.offsetWidth, h = tip.offsetHeight;
        let x, y;
        if (placement === "bottom" || placement === "top") {
          x = r.left + r.width / 2 - w / 2 + skid;
          y = placement === "bottom" ? r.bottom + distance : r.top - h - distance;
        } else {
          y = r.top + r.height / 2 - h / 2 + skid;
          x = placement === "right" ? r.right + distance : r.left - w - distance;
        }
        const fits = x >= 0 && y >= 0 && x + w <= vw && y + h <= vh;
        if (!best || fits) best = { placement, x, y, w, h };
        if (fits) break;
      }
      const { placement, w, h } = best;
      let { x, y } = best;
      tip.setAttribute("data-popper-placement", placement);
      x = Math.max(0, Math.min(x, vw - w)); // shifted into the window, the arrow still points at the element
      y = Math.max(0, Math.min(y, vh - h));
      tip.style.transform = `translate(${Math.round(x + window.scrollX)}px, ${Math.round(y + window.scrollY)}px)`;
      const arrow = tip.querySelector(".tooltip-arrow");
      arrow.style.left = arrow.style.top = arrow.style.transform = "";
      if (placement === "bottom" || placement === "top") arrow.style.left = `${Math.round(r.left + r.width / 2 - x - arrow.offsetWidth / 2)}px`;
      else arrow.style.top = `${Math.round(r.top + r.height / 2 - y - arrow.offsetHeight / 2)}px`;
    }

    hide() {
      clearTimeout(this.timer);
      if (!this.tip) return;
      this.tip.classList.remove("show");
      this.tip.remove();
      this.el.removeAttribute("aria-describedby");
    }

    dispose() {
      this.hide();
      this.tip = null;
      tips.delete(this.el);
    }
  }

  ready(() => {
    for (const el of document.querySelectorAll('[data-bs-toggle="tooltip"]')) Tooltip.getOrCreateInstance(el, { delay: { show: 500, hide: 100 } });
  });
  window.addEventListener("scroll", () => { for (const t of document.querySelectorAll(".tooltip.show")) t.remove(); }, { passive: true });

  // ------------------------------------------------------------------ dropdowns
  const TOGGLE = '[data-bs-toggle="dropdown"]';
  const menuOf = (toggle) => {
    const next = toggle.nextElementSibling;
    return next && next.classList.contains("dropdown-menu") ? next : toggle.parentElement.querySelector(".dropdown-menu");
  };
  const isOpen = (toggle) => toggle.getAttribute("aria-expanded") === "true";
  const items = (menu) => [...menu.querySelectorAll(".dropdown-item:not(.disabled):not(:disabled)")].filter((i) => i.getClientRects().length);

  function open(toggle) {
    const menu = menuOf(toggle);
    if (!menu) return;
    for (const other of document.querySelectorAll(`${TOGGLE}[aria-expanded="true"]`)) if (other !== toggle) close(other);
    toggle.classList.add("show");
    toggle.setAttribute("aria-expanded", "true");
    menu.classList.add("show");
    // where Popper puts it: under the button, left edges aligned (2 px apart), shifted left to stay in the window
    menu.style.cssText = "position:absolute;inset:0 auto auto 0;margin:0";
    const parent = menu.offsetParent || document.body;
    const p = parent.getBoundingClientRect(), t = toggle.getBoundingClientRect();
    const vw = document.documentElement.clientWidth, w = menu.offsetWidth;
    const left = Math.max(0, Math.min(t.left, vw - w));
    menu.style.transform = `translate(${Math.round(left - p.left - parent.clientLeft)}px, ` +
      `${Math.round(t.bottom + 2 - p.top - parent.clientTop)}px)`;
    menu.setAttribute("data-popper-placement", "bottom-start");
  }

  function close(toggle) {
    const menu = menuOf(toggle);
    toggle.classList.remove("show");
    toggle.setAttribute("aria-expanded", "false");
    if (menu) menu.classList.remove("show");
  }

  document.addEventListener("click", (e) => {
    const toggle = e.target.closest && e.target.closest(TOGGLE);
    if (toggle) {
      e.preventDefault();
      if (isOpen(toggle)) close(toggle);
      else open(toggle);
    }
    for (const other of document.querySelectorAll(`${TOGGLE}[aria-expanded="true"]`)) {
      if (other === toggle) continue;
      const menu = menuOf(other);
      if (!menu || !menu.contains(e.target) || (e.target.closest && e.target.closest(".dropdown-item"))) close(other);
    }
  });

  document.addEventListener("keydown", (e) => {
    const toggle = e.target.closest && e.target.closest(TOGGLE);
    const menu = e.target.closest && e.target.closest(".dropdown-menu");
    const owner = toggle || (menu && menu.parentElement.querySelector(TOGGLE));
    if (!owner) return;
    if (e.key === "Escape" && isOpen(owner)) {
      e.preventDefault();
      close(owner);
      owner.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!isOpen(owner)) open(owner);
      const list = items(menuOf(owner));
      if (!list.length) return;
      const at = list.indexOf(document.activeElement);
      const next = at < 0 ? (e.key === "ArrowDown" ? 0 : list.length - 1)
        : (at + (e.key === "ArrowDown" ? 1 : -1) + list.length) % list.length;
      list[next].focus();
    }
  });

  // ------------------------------------------------------------------ back to top
  ready(() => {
    const btn = document.getElementById("pst-back-to-top");
    const header = document.getElementsByClassName("bd-header")[0];
    if (!btn || !header) return;
    btn.addEventListener("click", () => {
      document.body.scrollTop = 0;
      document.documentElement.scrollTop = 0;
    });
    const bottom = header.getBoundingClientRect().bottom;
    let last = window.scrollY;
    window.addEventListener("scroll", () => {
      btn.style.display = last > window.scrollY && window.scrollY > bottom ? "block" : "none";
      last = window.scrollY;
    }, { passive: true });
  });

  window.bootstrap = Object.assign(window.bootstrap || {}, { Tooltip });
})();
