/* Behaviour of a few forms, without inline handlers (the CSP allows no inline script).
 * form[data-erp-goto="FIELD"]: submitting goes to the URL held by the field FIELD.
 * form[data-erp-action-pk="FIELD"]: submitting posts to the action with its trailing id
 *   replaced by the value of the field FIELD. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM") { return; }
    var goto = form.getAttribute("data-erp-goto");
    if (goto && form.elements[goto]) {
      event.preventDefault();
      var url = form.elements[goto].value;
      if (url.charAt(0) === "/" && url.charAt(1) !== "/") { window.location = url; }
      return;
    }
    var pk = form.getAttribute("data-erp-action-pk");
    if (pk && form.elements[pk]) {
      form.action = form.action.replace(/\d+$/, encodeURIComponent(form.elements[pk].value));
    }
  });
}());
