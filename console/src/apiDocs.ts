// The API's reference for integrators: Swagger UI over this archive's own /openapi.json, bundled with the
// console (nothing from a CDN). A page of its own, so the console's bundle does not carry it.
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";

const target = document.getElementById("api-docs");
if (target) {
  SwaggerUIBundle({
    // Beside this page, under a stage prefix too (`/api/api-docs` reads `/api/openapi.json`).
    url: new URL("openapi.json", window.location.href).href,
    domNode: target,
    deepLinking: true,
    // Try-it-out requests carry what an integrator pastes; nothing is remembered across reloads.
    persistAuthorization: false,
  });
}
