(function () {
  var main = document.getElementById("page");
  var base = main.getAttribute("data-base"), challenge = main.getAttribute("data-challenge");
  var lang = (navigator.language || "").slice(0, 2) === "kk" ? "kk" : "ru";
  var nca = document.getElementById("ncalayer");
  var messages = {
    not_running: "NCALayer не запущен. Запустите NCALayer или установите его: https://pki.gov.kz/ncalayer/ · NCALayer іске қосылмаған.",
    cancelled: "Подписание отменено · Қол қою тоқтатылды",
    network: "Ошибка сети · Желі қатесі"
  };
  NCALayer.signOnClick(nca, base + "/sign", lang, "cms", function (layer) {
    return layer.sign(challenge, "ru");
  }, messages);
})();
