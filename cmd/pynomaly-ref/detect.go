package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// taskKind is the one kind of task the reference runs: anomaly detection on a series with the
// modified z-score (median and median absolute deviation, Iglewicz and Hoaglin).
const taskKind = "detect"

// Limits of a detection request.
const (
	maxValues     = 100_000
	maxFitSeconds = 3600
	defaultCutoff = 3.5
)

// detectionRequest is the body of POST /api/v1/detections and the task's payload.
type detectionRequest struct {
	Values []float64 `json:"values"`
	// Threshold is the modified z-score above which a value is an anomaly (3.5 when 0).
	Threshold float64 `json:"threshold,omitempty"`
	// FitSeconds stands for a model's fitting time: the worker spends that long before
	// answering, as a real model would, so shutdowns and timeouts can be seen.
	FitSeconds float64 `json:"fit_seconds,omitempty"`
}

func (r *detectionRequest) validate() error {
	switch {
	case len(r.Values) < 2:
		return errors.New("values: at least 2 numbers")
	case len(r.Values) > maxValues:
		return fmt.Errorf("values: at most %d numbers", maxValues)
	case r.Threshold < 0 || math.IsNaN(r.Threshold):
		return errors.New("threshold: not negative")
	case r.FitSeconds < 0 || r.FitSeconds > maxFitSeconds:
		return fmt.Errorf("fit_seconds: between 0 and %d", maxFitSeconds)
	}
	if r.Threshold == 0 {
		r.Threshold = defaultCutoff
	}
	return nil
}

type anomaly struct {
	Index int     `json:"index"`
	Value float64 `json:"value"`
	Score float64 `json:"score"`
}

// detectionResult is the task's result: the fitted model and the anomalies it finds.
type detectionResult struct {
	Median    float64   `json:"median"`
	MAD       float64   `json:"mad"`
	Threshold float64   `json:"threshold"`
	Anomalies []anomaly `json:"anomalies"`
}

// detect fits the model after the request's fitting time, or fails when ctx ends first.
func detect(ctx context.Context, r detectionRequest) (detectionResult, error) {
	select {
	case <-time.After(time.Duration(r.FitSeconds * float64(time.Second))):
	case <-ctx.Done():
		return detectionResult{}, ctx.Err()
	}
	median := medianOf(r.Values)
	dev := make([]float64, len(r.Values))
	for i, v := range r.Values {
		dev[i] = math.Abs(v - median)
	}
	mad := medianOf(dev)
	scale := 0.6745 / mad
	if mad == 0 {
		// Half the values or more are equal: the mean absolute deviation stands in.
		scale = 0.7979 / mean(dev)
	}
	res := detectionResult{Median: median, MAD: mad, Threshold: r.Threshold, Anomalies: []anomaly{}}
	for i, v := range r.Values {
		if score := scale * math.Abs(v-median); score > r.Threshold && !math.IsInf(scale, 0) {
			res.Anomalies = append(res.Anomalies, anomaly{Index: i, Value: v, Score: score})
		}
	}
	return res, nil
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// saveModel writes the last fitted model to MODEL_STORAGE_PATH (the model volume, writable
// under a read-only root) atomically: a temporary file in the same directory, renamed.
func saveModel(dir, task string, r detectionResult) error {
	b, err := json.Marshal(map[string]any{"task": task, "median": r.Median, "mad": r.MAD, "threshold": r.Threshold,
		"fitted_at": time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".model-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, modelFile))
}

// modelFile is the last fitted model, in MODEL_STORAGE_PATH.
const modelFile = "reference-model.json"

// checkWritable fails unless dir takes a file: MODEL_STORAGE_PATH and the temporary directory
// are the only places the program writes, and with a read-only root they must be volumes.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
