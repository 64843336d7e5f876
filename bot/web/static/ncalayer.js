// edobot's NCALayer client: signs a document with the key the user picks in
// NCALayer's own window, through kz.gov.pki.knca.basics (NCALayer 1.3+) or,
// on an older NCALayer, kz.gov.pki.knca.commonUtils.
(function (global) {
  "use strict";

  // NCALayer(url).connect() resolves with NCALayer's version, or rejects
  // with {code: "not_running"} when nothing answers at url.
  function NCALayer(url) {
    this.url = url;
    this.ws = null;
    this.version = "";
  }

  NCALayer.prototype.connect = function () {
    var self = this;
    return new Promise(function (resolve, reject) {
      var ws, greeted = false;
      try {
        ws = new WebSocket(self.url);
      } catch (e) {
        reject({ code: "not_running" });
        return;
      }
      ws.onerror = function () { if (!greeted) reject({ code: "not_running" }); };
      ws.onclose = function () { if (!greeted) reject({ code: "not_running" }); };
      // NCALayer greets every connection with {"result":{"version":"…"}}.
      ws.onmessage = function (ev) {
        greeted = true;
        var m = {};
        try { m = JSON.parse(ev.data); } catch (e) { /* keep m empty */ }
        self.ws = ws;
        self.version = (m.result && m.result.version) || "";
        resolve(self.version);
      };
    });
  };

  // call sends one request and resolves with the one reply.
  NCALayer.prototype.call = function (request) {
    var ws = this.ws;
    return new Promise(function (resolve, reject) {
      ws.onmessage = function (ev) {
        ws.onmessage = null;
        try { resolve(JSON.parse(ev.data)); } catch (e) { reject({ code: "bad_reply" }); }
      };
      ws.onclose = function () { reject({ code: "closed" }); };
      ws.send(JSON.stringify(request));
    });
  };

  // sign resolves with the base64 CMS (detached) over base64Data, or rejects
  // with {code: "cancelled"} or {code: "ncalayer_error", message}.
  NCALayer.prototype.sign = function (base64Data, locale) {
    var self = this;
    return self.call({
      module: "kz.gov.pki.knca.basics", method: "sign",
      args: {
        allowedStorages: null, format: "cms", data: base64Data,
        signingParams: { decode: true, encapsulate: false, digested: false, tsaProfile: {} },
        signerParams: { extKeyUsageOids: ["1.3.6.1.5.5.7.3.4"] },
        locale: locale || "ru"
      }
    }).then(function (r) {
      if (r.status === true) {
        if (r.body && r.body.result && r.body.result.length) return r.body.result[0];
        throw { code: "cancelled" };
      }
      if (r.status === false) throw { code: "ncalayer_error", message: r.message || r.code || "", details: r.details };
      // An NCALayer without the basics module answers in the old format.
      return self.signCommonUtils(base64Data);
    });
  };

  NCALayer.prototype.signCommonUtils = function (base64Data) {
    return this.call({
      module: "kz.gov.pki.knca.commonUtils", method: "createCAdESFromBase64",
      args: ["PKCS12", "SIGNATURE", base64Data, false]
    }).then(function (r) {
      if (r.code === "200" && r.responseObject) return r.responseObject;
      if (r.code === "200") throw { code: "cancelled" };
      throw { code: "ncalayer_error", message: r.message || r.code || "" };
    });
  };

  // signXml resolves with xml signed (enveloped XMLDSig) by the
  // authentication key the user picks, or rejects as sign does.
  NCALayer.prototype.signXml = function (xml, locale) {
    var self = this;
    return self.call({
      module: "kz.gov.pki.knca.basics", method: "sign",
      args: {
        allowedStorages: null, format: "xml", data: xml,
        signingParams: { decode: false, encapsulate: true, digested: false, tsaProfile: null },
        signerParams: { extKeyUsageOids: ["1.3.6.1.5.5.7.3.2"] },
        locale: locale || "ru"
      }
    }).then(function (r) {
      if (r.status === true) {
        if (r.body && r.body.result && r.body.result.length) return r.body.result[0];
        throw { code: "cancelled" };
      }
      if (r.status === false) throw { code: "ncalayer_error", message: r.message || r.code || "", details: r.details };
      return self.call({
        module: "kz.gov.pki.knca.commonUtils", method: "signXml",
        args: ["PKCS12", "AUTHENTICATION", xml, "", ""]
      }).then(function (o) {
        if (o.code === "200" && o.responseObject) return o.responseObject;
        if (o.code === "200") throw { code: "cancelled" };
        throw { code: "ncalayer_error", message: o.message || o.code || "" };
      });
    });
  };

  NCALayer.prototype.close = function () { if (this.ws) this.ws.close(); };

  // toBase64 encodes a large ArrayBuffer without building one huge string
  // of arguments.
  NCALayer.toBase64 = function (buffer) {
    var bytes = new Uint8Array(buffer), parts = [], chunk = 0x8000;
    for (var i = 0; i < bytes.length; i += chunk) {
      parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + chunk)));
    }
    return btoa(parts.join(""));
  };

  // signOnClick makes button sign with NCALayer: sign(layer) resolves with
  // the signature, which is posted to url as {field: signature}; the page
  // then shows #done, or in #error the server's message, the one messages
  // has for NCALayer's code, or NCALayer's own.
  NCALayer.signOnClick = function (button, url, lang, field, sign, messages) {
    var errorBox = document.getElementById("error");
    button.addEventListener("click", function () {
      errorBox.textContent = "";
      var layer = new NCALayer(button.getAttribute("data-ncalayer"));
      layer.connect().then(function () {
        return sign(layer);
      }).then(function (signature) {
        layer.close();
        var body = {};
        body[field] = signature;
        return fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "Accept-Language": lang},
          body: JSON.stringify(body)});
      }).then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw j;
          button.hidden = true;
          document.getElementById("done").hidden = false;
        });
      }).catch(function (e) {
        layer.close();
        errorBox.textContent = (e && e.error && e.error.message) || messages[e && e.code] ||
          ("NCALayer: " + ((e && e.message) || messages.network));
      });
    });
  };

  global.NCALayer = NCALayer;
})(window);
