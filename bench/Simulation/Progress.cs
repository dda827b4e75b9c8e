using System.Diagnostics;
using System.Globalization;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The live display: on a terminal one line per phase rewritten in place four times a second; without one (CI,
/// a pipe) a line every two seconds and one at the end of each phase, so logs stay readable.
/// </summary>
internal sealed class Progress : IDisposable
{
    private readonly TextWriter _output;
    private readonly bool _interactive;
    private readonly Lock _gate = new();
    private readonly Timer _timer;
    private string? _picker;
    private PhaseStats? _phase;
    private ChangeTracker? _tracker;
    private long _phaseStarted;
    private long _lastLine;

    public Progress(TextWriter output, bool interactive)
    {
        _output = output;
        _interactive = interactive;
        _timer = new Timer(_ => Tick(final: false), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    public void BeginPhase(string picker, PhaseStats phase, ChangeTracker tracker)
    {
        EndPhase();
        lock (_gate)
        {
            _picker = picker;
            _phase = phase;
            _tracker = tracker;
            _phaseStarted = Stopwatch.GetTimestamp();
            _lastLine = _phaseStarted;
        }
    }

    public void EndPhase()
    {
        Tick(final: true);
        lock (_gate)
        {
            _phase = null;
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Tick(bool final)
    {
        lock (_gate)
        {
            if (_phase is not PhaseStats phase)
            {
                return;
            }

            double seconds = Stopwatch.GetElapsedTime(_phaseStarted).TotalSeconds;
            if (!_interactive && !final && Stopwatch.GetElapsedTime(_lastLine) < TimeSpan.FromSeconds(2))
            {
                return;
            }

            _lastLine = Stopwatch.GetTimestamp();
            string line = string.Create(CultureInfo.InvariantCulture,
                $"  {_picker,-34} {phase.Name,-18} {seconds,5:F1} s {phase.Requests,9:N0} req {phase.Errors,4} err {(seconds > 0 ? phase.Requests / seconds : 0),8:N0} req/s  pods {_tracker?.Current.Count,2}  sets seen {_tracker?.Publications,3}");
            if (_interactive)
            {
                _output.Write("\r" + line);
                if (final)
                {
                    _output.WriteLine();
                }
            }
            else
            {
                _output.WriteLine(line);
            }
        }
    }
}
