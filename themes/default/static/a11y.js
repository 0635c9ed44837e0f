// 长者模式 (适老化): larger text, higher contrast, wider line spacing; the choice is kept in
// the visitor's browser. Without JavaScript the page is unchanged and fully usable.
(function () {
  var root = document.documentElement;
  var key = 'sitegroup-elder';
  var on = false;
  try { on = window.localStorage.getItem(key) === '1'; } catch (e) { /* private mode */ }
  function apply() {
    root.classList.toggle('elder', on);
    var b = document.getElementById('elder-toggle');
    if (b) {
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.textContent = on ? '退出长者模式' : '长者模式';
    }
  }
  apply();
  document.addEventListener('DOMContentLoaded', function () {
    var b = document.getElementById('elder-toggle');
    if (!b) return;
    b.hidden = false;
    apply();
    b.addEventListener('click', function () {
      on = !on;
      try { window.localStorage.setItem(key, on ? '1' : '0'); } catch (e) { /* ignore */ }
      apply();
    });
  });
})();
