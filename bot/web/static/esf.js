// The ИС ЭСФ ticket page: NCALayer signs the ticket (enveloped XMLDSig) with
// the authentication key, and the page sends it back.
(function () {
  var main = document.getElementById("page");
  var base = main.getAttribute("data-base"), lang = main.getAttribute("data-lang");
  var ticket = document.getElementById("ticket").value;
  var errorBox = document.getElementById("error"), nca = document.getElementById("ncalayer");
  var messages = {
    not_running: main.getAttribute("data-not-running"),
    cancelled: main.getAttribute("data-cancelled"),
    network: main.getAttribute("data-network")
  };
  nca.addEventListener("click", function () {
    errorBox.textContent = "";
    var layer = new NCALayer(nca.getAttribute("data-ncalayer"));
    layer.connect().then(function () {
      return layer.signXml(ticket, lang);
    }).then(function (xml) {
      layer.close();
      return fetch(base + "/sign", {method: "POST", headers: {"Content-Type": "application/json", "Accept-Language": lang},
        body: JSON.stringify({xml: xml})});
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
