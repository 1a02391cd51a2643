/* Progressive enhancement only: every page works without this file (and without htmx).
   No inline scripts anywhere: the CSP allows scripts from this origin only. */
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.add('js');
  var narrow = window.matchMedia('(max-width: 52em)');

  function ready(fn) {
    if (document.readyState !== 'loading') fn(); else document.addEventListener('DOMContentLoaded', fn);
  }

  ready(function () {
    // CSRF: htmx requests carry the session's token as a header (hx-headers is inherited).
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRF-Token': meta.content}));
    }
    // Filters start folded on small screens so results come first.
    var filters = document.querySelector('.filtros-plegable');
    if (filters && narrow.matches) filters.open = false;
    // Jump to the first problem of a form sent back with errors.
    var summary = document.getElementById('resumen-errores');
    if (summary) summary.focus();
  });

  // Keep the filters panel as the person left it across result swaps.
  var filtersOpen = null;
  document.addEventListener('htmx:beforeSwap', function (e) {
    var f = document.querySelector('.filtros-plegable');
    filtersOpen = f ? f.open : null;
  });

  document.addEventListener('htmx:afterSettle', function (e) {
    var target = e.detail.target;
    var f = document.querySelector('.filtros-plegable');
    if (f && filtersOpen !== null) f.open = filtersOpen;
    // Once there is a query, the introduction gives its room to the results.
    var q = document.getElementById('q');
    var intro = document.querySelector('.portada');
    if (q && intro) intro.classList.toggle('compacta', q.value.trim() !== '');
    if (target && target.id === 'lista-resultados') {
      // "Cargar más": move focus to the first card just added, so keyboard and screen-reader
      // users continue where the new results start.
      var firsts = target.querySelectorAll('li.tarjeta[data-pagina]');
      var first = firsts[firsts.length - 1];
      var link = first && first.querySelector('h3 a');
      if (link) link.focus();
    } else if (document.activeElement === document.body && target && target.id === 'resultados') {
      // The focused control was replaced and has no twin (htmx restores same-id elements itself).
      var heading = document.getElementById('lista-titulo');
      if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus({preventScroll: true}); }
    }
  });

  document.addEventListener('click', function (e) {
    var el = e.target.closest('[data-accion]');
    if (!el) return;
    if (el.getAttribute('data-accion') === 'imprimir') {
      window.print();
    } else if (el.getAttribute('data-accion') === 'volver' && document.referrer &&
               new URL(document.referrer).origin === location.origin && history.length > 1) {
      // Back to the exact search (its URL holds the whole state) instead of an empty search page.
      e.preventDefault();
      history.back();
    }
  });
})();
