// Alpine components of the admin pages. The admin runs under a Content-Security-Policy without
// 'unsafe-eval', so it uses Alpine's CSP build: components are registered here by name and the
// templates only name them and read their properties.
document.addEventListener("alpine:init", () => {
  // Bulk actions: the header checkbox selects every row.
  window.Alpine.data("bulkSelect", () => ({
    all: false,
  }));
  // Granting a role: the review level only matters for reviewers.
  window.Alpine.data("grantForm", () => ({
    role: "",
    init() {
      const select = this.$el.querySelector("select[name=role]");
      this.role = select ? select.value : "";
    },
    get isReviewer() {
      return this.role === "reviewer";
    },
  }));
});

// Print buttons (reports): no inline handlers under the admin's CSP.
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
