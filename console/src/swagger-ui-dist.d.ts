// swagger-ui-dist ships no types; the one call the API page makes.
declare module "swagger-ui-dist/swagger-ui-es-bundle.js" {
  interface SwaggerUIOptions {
    url: string;
    domNode: Element;
    deepLinking?: boolean;
    persistAuthorization?: boolean;
  }
  export default function SwaggerUIBundle(options: SwaggerUIOptions): unknown;
}
