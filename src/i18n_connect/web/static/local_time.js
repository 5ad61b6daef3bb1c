/* Shows every <time class="local-time" datetime="…Z"> in the reader's own time zone, as a
 * date and a time that each stay on one line; the server-rendered UTC text stays available
 * on hover (title). Loaded as a file: the CSP allows no inline script. */
(function () {
  "use strict";
  var day = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  var clock = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  function part(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }
  document.querySelectorAll("time.local-time[datetime]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { return; }
    element.title = element.textContent.trim();
    element.replaceChildren(part(day.format(moment)), " ", part(clock.format(moment)));
    element.classList.add("local-time--converted");
  });
})();
