/** Service processes for tests: the same launcher the demo uses. */
export * from "@deeptrace/shared/service/service-process";
