(function () {
  var main = document.getElementById("page");
  var base = main.getAttribute("data-base"), challenge = main.getAttribute("data-challenge");
  var lang = (navigator.language || "").slice(0, 2) === "kk" ? "kk" : "ru";
  var errorBox = document.getElementById("error"), nca = document.getElementById("ncalayer");
  var messages = {
    not_running: "NCALayer не запущен. Запустите NCALayer или установите его: https://pki.gov.kz/ncalayer/ · NCALayer іске қосылмаған.",
    cancelled: "Подписание отменено · Қол қою тоқтатылды",
    network: "Ошибка сети · Желі қатесі"
  };
  nca.addEventListener("click", function () {
    errorBox.textContent = "";
    var layer = new NCALayer(nca.getAttribute("data-ncalayer"));
    layer.connect().then(function () {
      return layer.sign(challenge, "ru");
    }).then(function (cms) {
      layer.close();
      return fetch(base + "/sign", {method: "POST", headers: {"Content-Type": "application/json", "Accept-Language": lang},
        body: JSON.stringify({cms: cms})});
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw j;
        nca.hidden = true;
        document.getElementById("done").hidden = false;
      });
    }).catch(function (e) {
      layer.close();
      errorBox.textContent = (e && e.error && e.error.message) || messages[e && e.code] ||
        ("NCALayer: " + ((e && e.message) || messages.network));
    });
  });
})();
