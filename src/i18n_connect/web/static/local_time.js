/* Shows every <time class="local-time" datetime="…Z"> in the reader's own time zone; the
 * server-rendered UTC text stays available on hover (title). Loaded as a file: the CSP
 * allows no inline script. */
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short"
  });
  document.querySelectorAll("time.local-time[datetime]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { return; }
    element.title = element.textContent.trim();
    element.textContent = format.format(moment);
    element.classList.add("local-time--converted");
  });
})();
