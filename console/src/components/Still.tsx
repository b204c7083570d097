// One still of a clip: its stills come as one JPEG, side by side with the poster first (one object stored and
// fetched per clip, not one per picture), so each is shown by cropping that image to the still's own box.
import type { Ref } from "preact";
import type { Schemas } from "../api/client";

export type Stills = Schemas["StillsLink"];

/** The `object-position` that shows still `index` of `count` in a box of one still's shape (cover-fitted). */
export function stillPosition(index: number, count: number): string {
  return count > 1 ? `${(index / (count - 1)) * 100}% 0%` : "0% 0%";
}

export function Still(props: {
  stills: Stills;
  index: number;
  alt: string;
  loading?: "lazy";
  imageRef?: Ref<HTMLImageElement>;
  onError?: () => void;
}) {
  const { stills } = props;
  return (
    <img
      ref={props.imageRef}
      src={stills.url}
      alt={props.alt}
      loading={props.loading}
      draggable={false}
      onError={props.onError}
      style={{
        aspectRatio: `${stills.width} / ${stills.height}`,
        objectFit: "cover",
        objectPosition: stillPosition(props.index, stills.count),
      }}
    />
  );
}
