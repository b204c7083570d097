// Small pieces every screen uses: messages, a modal dialog, a secret shown once, a busy button.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";

export function Problem({ error }: { error: Error | null }) {
  const { t } = useI18n();
  if (error === null) {
    return null;
  }
  const text = error instanceof ApiError && error.status === 404 ? t("not_found_or_not_yours") : error.message;
  return (
    <p class="problem" role="alert">
      {text}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  const { t } = useI18n();
  return when ? <p aria-live="polite">{t("loading")}</p> : null;
}

/** A native modal dialog: focus stays inside, Esc closes it. */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) {
      return;
    }
    if (props.open && !dialog.open) {
      dialog.showModal();
    } else if (!props.open && dialog.open) {
      dialog.close();
    }
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={props.onClose}>
      <h2 id="dialog-title">{props.title}</h2>
      {props.open ? props.children : null}
    </dialog>
  );
}

/** A secret the archive shows once (a gateway token, a temporary password, a share link), with a copy button. */
export function ShownOnce({ label, value }: { label: string; value: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <div class="shown-once">
      <p>
        <strong>{label}</strong> {t("shown_once")}
      </p>
      <code data-testid="shown-once">{value}</code>
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? t("copied") : t("copy")}
      </button>
    </div>
  );
}

/** Run an action from a form or button; show its failure; keep the button disabled while it runs. */
export function useAction(): {
  busy: boolean;
  error: Error | null;
  run: (action: () => Promise<unknown>) => void;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    run: (action) => {
      setBusy(true);
      setError(null);
      action()
        .catch((failure: unknown) => setError(failure instanceof Error ? failure : new Error(String(failure))))
        .finally(() => setBusy(false));
    },
  };
}

export function formValues(event: Event): Record<string, string> {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const values: Record<string, string> = {};
  new FormData(form).forEach((value, key) => {
    values[key] = typeof value === "string" ? value.trim() : "";
  });
  return values;
}

export function formChecked(event: Event, name: string): string[] {
  const form = event.currentTarget as HTMLFormElement;
  return new FormData(form).getAll(name).map(String);
}
