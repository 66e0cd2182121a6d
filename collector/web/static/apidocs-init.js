// Starts Swagger UI or ReDoc on the element that names it; kept out of the page for the CSP.
(function () {
  "use strict";
  const swagger = document.querySelector('[data-viewer="swagger"]');
  if (swagger && window.SwaggerUIBundle) {
    window.SwaggerUIBundle({
      url: swagger.dataset.openapi,
      dom_id: "#swagger-ui",
      deepLinking: true,
      layout: "BaseLayout",
      presets: [window.SwaggerUIBundle.presets.apis],
      validatorUrl: null,  // the default validator badge would call a public server
    });
  }
  const redoc = document.querySelector('[data-viewer="redoc"]');
  if (redoc && window.Redoc) {
    window.Redoc.init(redoc.dataset.openapi, {disableSearch: false}, redoc);
  }
})();
