// The ИС ЭСФ ticket page: NCALayer signs the ticket (enveloped XMLDSig) with
// the authentication key, and the page sends it back.
(function () {
  var main = document.getElementById("page");
  var base = main.getAttribute("data-base"), lang = main.getAttribute("data-lang");
  var ticket = document.getElementById("ticket").value;
  var nca = document.getElementById("ncalayer");
  var messages = {
    not_running: main.getAttribute("data-not-running"),
    cancelled: main.getAttribute("data-cancelled"),
    network: main.getAttribute("data-network")
  };
  NCALayer.signOnClick(nca, base + "/sign", lang, "xml", function (layer) {
    return layer.signXml(ticket, lang);
  }, messages);
})();
