/** The error banner: why the last input was refused; the previous scan stays displayed underneath. */
import { useStore } from '../store/index.ts';
import { retryFirstVolume } from '../load/load-controller.ts';

export function ErrorBanner() {
  const error = useStore((s) => s.error);
  const setError = useStore((s) => s.setError);
  const hasScan = useStore((s) => s.scan !== null);
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-testid="error-banner" data-code={error.code}>
      <div>
        <strong>Could not load this input.</strong> <span data-testid="error-message">{error.message}</span>
        {hasScan && <span className="muted"> The previous scan is still shown.</span>}
      </div>
      <div className="actions">
        {error.canTakeFirstVolume && (
          <button data-testid="take-first-volume" onClick={() => void retryFirstVolume()}>
            Load first volume
          </button>
        )}
        <button aria-label="Dismiss" data-testid="dismiss-error" onClick={() => setError(null)}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
