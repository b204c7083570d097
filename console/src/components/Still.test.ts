import { describe, expect, it } from "vitest";
import { stillPosition } from "./Still";

// A cover-fitted image n stills wide, in a box one still wide, is offset by (box − image) × position:
// position i / (n − 1) moves it left by exactly i stills.
const offsetInStills = (position: string, count: number) => (1 - count) * (Number.parseFloat(position) / 100);

describe("stillPosition", () => {
  it("shows each still of the row by its index", () => {
    for (const index of [0, 1, 2, 3]) {
      expect(offsetInStills(stillPosition(index, 4), 4)).toBeCloseTo(-index);
    }
  });

  it("shows a lone poster whole", () => {
    expect(stillPosition(0, 1)).toBe("0% 0%");
  });
});
