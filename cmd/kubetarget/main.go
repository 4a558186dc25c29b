// Command kubetarget prints which cluster a kubeconfig points at: the context and the API
// server's address, as `context NAME, server URL`. scripts/quickstart.sh prints it before it
// deploys, so nobody deploys to a cluster without seeing which one.
//
//	kubetarget [--kubeconfig PATH_OR_CONTENTS] [--context NAME]
//
// Without --kubeconfig it reads the ambient configuration as kubectl does: the files of
// $KUBECONFIG (a list; the first file that sets a value wins), else ~/.kube/config.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

type kubeconfig struct {
	CurrentContext string `yaml:"current-context"`
	Contexts       []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Clusters []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server string `yaml:"server"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
}

func main() {
	kc := flag.String("kubeconfig", "", "kubeconfig path or contents (default: $KUBECONFIG, else ~/.kube/config)")
	ctx := flag.String("context", "", "context (default: the kubeconfig's current-context)")
	flag.Parse()
	name, server, err := Target(*kc, *ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubetarget:", err)
		os.Exit(1)
	}
	fmt.Printf("context %s, server %s\n", name, server)
}

// Target resolves the context and the server a kubeconfig (path, contents, or "" for the
// ambient one) and an optional context name select.
func Target(kc, context string) (string, string, error) {
	var docs [][]byte
	switch {
	case strings.Contains(kc, "\n") || strings.HasPrefix(strings.TrimSpace(kc), "{"):
		docs = append(docs, []byte(kc))
	case kc != "":
		b, err := os.ReadFile(kc)
		if err != nil {
			return "", "", err
		}
		docs = append(docs, b)
	default:
		paths := filepath.SplitList(os.Getenv("KUBECONFIG"))
		if len(paths) == 0 {
			home, _ := os.UserHomeDir()
			paths = []string{filepath.Join(home, ".kube", "config")}
		}
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				docs = append(docs, b)
			}
		}
		if len(docs) == 0 {
			return "", "", fmt.Errorf("no kubeconfig at %s", strings.Join(paths, ", "))
		}
	}
	// Merge as kubectl does: the first file that sets current-context, or names a context or
	// cluster, wins.
	var merged kubeconfig
	contexts, clusters := map[string]string{}, map[string]string{}
	for _, d := range docs {
		var k kubeconfig
		if err := yaml.Unmarshal(d, &k); err != nil {
			return "", "", fmt.Errorf("not a kubeconfig: %w", err)
		}
		if merged.CurrentContext == "" {
			merged.CurrentContext = k.CurrentContext
		}
		for _, c := range k.Contexts {
			if _, seen := contexts[c.Name]; !seen {
				contexts[c.Name] = c.Context.Cluster
			}
		}
		for _, c := range k.Clusters {
			if _, seen := clusters[c.Name]; !seen {
				clusters[c.Name] = c.Cluster.Server
			}
		}
	}
	if context == "" {
		context = merged.CurrentContext
	}
	if context == "" {
		return "", "", errors.New("the kubeconfig sets no current-context and none was given")
	}
	cluster, ok := contexts[context]
	if !ok {
		return "", "", fmt.Errorf("the kubeconfig has no context %q", context)
	}
	server, ok := clusters[cluster]
	if !ok || server == "" {
		return "", "", fmt.Errorf("context %q names cluster %q, which the kubeconfig does not define", context, cluster)
	}
	return context, server, nil
}
