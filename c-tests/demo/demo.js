document.getElementById("when").textContent = new Date().toLocaleString();
fetch("/notes.txt").then(function (r) {
  document.getElementById("server").textContent = r.headers.get("server") || "the library";
});
