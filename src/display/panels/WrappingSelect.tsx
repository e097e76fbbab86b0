/**
 * A native <select> whose chosen option's text wraps. A select draws its text on one line and cuts
 * it at its edge, and model names ("QResNet-34 (width 8, 64³), TSC vs healthy, FLAIR") are wider
 * than the side panels. Here the select lies transparent over a box showing the text, so clicks,
 * the keyboard, screen readers and the option list remain the browser's own.
 */
import type { SelectHTMLAttributes } from 'react';

export function WrappingSelect({ text, ...select }: SelectHTMLAttributes<HTMLSelectElement> & { text: string }) {
  return (
    <div className="wrap-select">
      <span className="wrap-select-text" aria-hidden="true">
        {text}
      </span>
      <select {...select} />
    </div>
  );
}
