"use strict";
(function () {
  function key(cell) {
    var text = cell.getAttribute("data-sort");
    if (text === null) text = cell.textContent.trim();
    var number = Number(text);
    return text !== "" && !isNaN(number) ? [0, number] : [1, text.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) return a[0] - b[0];
    return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) {
      var order = compare(key(a.cells[column]), key(b.cells[column]));
      return ascending ? order : -order;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.title = "sort by " + header.textContent;
      header.addEventListener("click", function () { sortBy(table, column, header); });
    });
  });
  var copy = document.getElementById("copy-summary");
  var text = document.getElementById("summary-text");
  if (copy && text) {
    copy.addEventListener("click", function () {
      var selection = window.getSelection();
      var range = document.createRange();
      range.selectNodeContents(text);
      selection.removeAllRanges();
      selection.addRange(range);
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text.textContent).then(function () {
          copy.textContent = "Copied";
        }, function () {
          copy.textContent = "Selected: press Ctrl+C";
        });
      } else {
        copy.textContent = "Selected: press Ctrl+C";
      }
    });
  }
})();
