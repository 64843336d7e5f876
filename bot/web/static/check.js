(function () {
  var layer = new NCALayer(document.getElementById("result").getAttribute("data-ncalayer")), result = document.getElementById("result");
  layer.connect().then(function (version) {
    result.textContent = "NCALayer работает, версия " + (version || "неизвестна") + " · NCALayer жұмыс істеп тұр, нұсқасы " + (version || "белгісіз");
    layer.close();
  }).catch(function () {
    result.textContent = "NCALayer не запущен · NCALayer іске қосылмаған";
    document.getElementById("help").hidden = false;
  });
})();
