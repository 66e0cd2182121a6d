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
    // ReDoc's sidebar credit loads a logo from a public server: nothing may leave the collector.
    const outside = (v) => /^https?:\/\//i.test(String(v)) && !String(v).startsWith(location.origin + "/");
    const setAttribute = Element.prototype.setAttribute;
    Element.prototype.setAttribute = function (name, value) {
      if (this instanceof HTMLImageElement && name === "src" && outside(value)) return;
      return setAttribute.call(this, name, value);
    };
    const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
    Object.defineProperty(HTMLImageElement.prototype, "src", {
      get() { return src.get.call(this); },
      set(value) { if (!outside(value)) src.set.call(this, value); },
      configurable: true,
    });
    // ReDoc's styled-components mark their <style> elements with the page's nonce.
    window.Redoc.init(redoc.dataset.openapi, {nonce: redoc.dataset.nonce, disableSearch: true}, redoc);
  }
})();
