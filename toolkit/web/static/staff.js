// The staff pages: the office's sections of a submission and the facts of a decision are entered with the same
// form as applicants use (form.js), sent as JSON in a hidden field; a job's page follows its progress.
(function () {
  "use strict";

  function json(id) {  // exact: 78.50 stays 78.50
    const element = id ? document.getElementById(id) : null;
    if (!element) return null;
    return window.Shenbao && window.Shenbao.parseExact ? window.Shenbao.parseExact(element.textContent)
      : JSON.parse(element.textContent);
  }

  function serialise(data) {
    return window.Shenbao && window.Shenbao.stringify ? window.Shenbao.stringify(data) : JSON.stringify(data);
  }

  function mountInto(formId, partId, viewId, dataId, fieldId) {
    const form = document.getElementById(formId);
    const view = json(viewId);
    if (!form || !view || !window.Shenbao) return;
    const part = document.getElementById(partId);
    const mounted = window.Shenbao.mountForm(part, view, json(dataId) || {}, {});
    part.addEventListener("keydown", function (event) {  // Enter in a field moves on; only the button records
      if (event.key === "Enter" && event.target.tagName === "INPUT") event.preventDefault();
    });
    form.addEventListener("submit", function () {
      document.getElementById(fieldId).value = serialise(mounted.collect());
    });
  }

  function followJob() {
    const card = document.getElementById("job");
    if (!card) return;
    const url = card.dataset.url;
    const finished = ["已完成", "失败"];
    async function poll() {
      let job;
      try {
        const answer = await fetch(url, { headers: { Accept: "application/json" } });
        if (!answer.ok) throw new Error(String(answer.status));
        job = await answer.json();
      } catch (error) {
        document.getElementById("job-message").textContent = "暂时无法获取进度，稍后自动重试……";
        setTimeout(poll, 3000);
        return;
      }
      document.getElementById("job-state").textContent = job.state;
      const share = job.total ? Math.round((100 * job.done) / job.total) : (job.state === "已完成" ? 100 : 0);
      document.getElementById("job-bar").style.width = share + "%";
      document.querySelector("#job .progress").setAttribute("aria-valuenow", String(share));
      document.getElementById("job-count").textContent = job.done + "/" + job.total;
      document.getElementById("job-message").textContent = job.message || "";
      const link = document.getElementById("job-download");
      if (job.download) {
        link.href = job.download;
        link.hidden = false;
      }
      if (!finished.includes(job.state)) setTimeout(poll, 700);
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    mountInto("decide", "office-part", "office-view", "office-data", "review");
    mountInto("issue", "facts-part", "facts-view", null, "facts");
    followJob();
  });
})();
