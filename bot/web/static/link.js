(function () {
  var main = document.getElementById("page");
  var base = main.getAttribute("data-base"), version = Number(main.getAttribute("data-version"));
  // The page speaks Russian and Kazakh: refusals come in the one the browser prefers.
  var lang = (navigator.language || "").slice(0, 2) === "kk" ? "kk" : "ru";
  // Opened as a Telegram Mini App: Telegram's script is loaded (only then)
  // and gives the init data, which the server checks with the bot's token
  // to know which chat user opened the link.
  var tg = window.Telegram && window.Telegram.WebApp;
  if (tg && tg.initData) {
    var who = tg.initDataUnsafe && tg.initDataUnsafe.user;
    if (who && who.language_code === "kk") lang = "kk";
    tg.ready();
    tg.expand();
    fetch(base + "/telegram", {method: "POST", headers: {"Content-Type": "text/plain"}, body: tg.initData});
  }
  var messages = {
    not_running: "NCALayer не запущен. Запустите NCALayer или установите его: https://pki.gov.kz/ncalayer/ · NCALayer іске қосылмаған.",
    cancelled: "Подписание отменено · Қол қою тоқтатылды",
    network: "Ошибка сети · Желі қатесі"
  };
  var egov = document.getElementById("egov");
  if (egov) egov.addEventListener("click", function () {
    fetch(base + "/egov", {method: "POST", headers: {"Accept-Language": lang}}).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; return j; });
    }).then(function (s) {
      document.getElementById("qrimg").src = s.qr_png_url;
      document.getElementById("mobile").href = s.deep_links.egov_mobile;
      document.getElementById("business").href = s.deep_links.egov_business;
      document.getElementById("qr").hidden = false;
      document.getElementById("egovstate").textContent = "";
      document.getElementById("error").textContent = "";
      if (s.status_url) follow(s.status_url, "");
    }).catch(function (e) {
      document.getElementById("error").textContent = (e && e.error && e.error.message) || messages.network;
    });
  });
  // Through a broker the app tells the broker, not us, how it went: the
  // page follows the signing here. A signature moves the document, and the
  // document's own poll below reloads the page.
  function follow(u, state) {
    fetch(u + "?state=" + encodeURIComponent(state), {headers: {"Accept-Language": lang}}).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; return j; });
    }).then(function (j) {
      if (j.final && j.state !== "signed") {
        document.getElementById("qr").hidden = true;
        document.getElementById("error").textContent = j.message;
        return;
      }
      document.getElementById("egovstate").textContent = j.message;
      if (!j.final) follow(u, j.state);
    }).catch(function (e) {
      if (e && e.error) { document.getElementById("error").textContent = e.error.message; return; }
      setTimeout(function () { follow(u, state); }, 3000);
    });
  }
  var errorBox = document.getElementById("error");
  var nca = document.getElementById("ncalayer");
  if (nca) nca.addEventListener("click", function () {
    errorBox.textContent = "";
    var layer = new NCALayer(nca.getAttribute("data-ncalayer"));
    layer.connect().then(function () {
      return fetch(base + "/file").then(function (r) { return r.arrayBuffer(); });
    }).then(function (pdf) {
      return layer.sign(NCALayer.toBase64(pdf), "ru");
    }).then(function (cms) {
      layer.close();
      return fetch(base + "/sign", {method: "POST", headers: {"Content-Type": "application/json", "Accept-Language": lang},
        body: JSON.stringify({cms: cms})});
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; location.reload(); });
    }).catch(function (e) {
      layer.close();
      errorBox.textContent = (e && e.error && e.error.message) || messages[e && e.code] ||
        ("NCALayer: " + ((e && e.message) || messages.network));
    });
  });
  var demo = document.getElementById("demo");
  if (demo) demo.addEventListener("click", function () {
    errorBox.textContent = "";
    demo.disabled = true;
    fetch(base + "/demo-sign", {method: "POST", headers: {"Accept-Language": lang}}).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; location.reload(); });
    }).catch(function (e) {
      demo.disabled = false;
      errorBox.textContent = (e && e.error && e.error.message) || messages.network;
    });
  });
  // The page follows the document: a long poll answers as soon as the
  // document changes, and the page reloads to show it.
  function poll() {
    fetch(base + "/status?version=" + version).then(function (r) {
      if (r.status === 410) { location.reload(); return; }
      if (!r.ok) throw r;
      return r.json().then(function (j) { if (j.version !== version) { location.reload(); } else { poll(); } });
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
  // A page image the server could not draw says so instead of showing a
  // broken image.
  var pages = document.querySelector(".pages");
  if (pages) Array.prototype.forEach.call(pages.querySelectorAll("img.page"), function (img) {
    function missing() {
      var p = document.createElement("p");
      p.className = "page-missing";
      p.textContent = img.alt + ": " + pages.getAttribute("data-missing");
      img.replaceWith(p);
    }
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) missing();
    else img.addEventListener("error", missing);
  });
})();
