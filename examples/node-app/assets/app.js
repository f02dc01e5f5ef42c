// The page's one behaviour: show how many notes there are and how many the worker has processed.
'use strict';
(function () {
  var counts = document.getElementById('counts');
  function refresh() {
    fetch('/notes')
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (data) {
        counts.textContent = data.total + ' note(s), ' + data.processed + ' processed';
      })
      .catch(function (error) {
        counts.textContent = 'counts unavailable: ' + error.message;
      });
  }
  refresh();
  setInterval(refresh, 5000);
})();
