package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// apiServer is a Cluster reached over HTTP with a kubeconfig's credentials: client-go resolves
// the kubeconfig exactly as kubectl does (contexts, exec credential plugins, certificates), and
// the checks are three plain reads: /version, an API's resource list, one object.
type apiServer struct {
	host   string
	client *http.Client
	lists  map[string][]string // groupVersion -> served resources, read once
}

// Connect reaches the cluster of a kubeconfig (a path or the file's contents; empty means the
// ambient one: $KUBECONFIG, else ~/.kube/config) and context (empty: its current context), the
// way the program's Kubernetes provider does.
func Connect(kubeconfig, context string) (Cluster, error) {
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	var loader clientcmd.ClientConfig
	if strings.Contains(kubeconfig, "\n") {
		cfg, err := clientcmd.Load([]byte(kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		loader = clientcmd.NewNonInteractiveClientConfig(*cfg, context, overrides, nil)
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if kubeconfig != "" {
			rules.ExplicitPath = expandHome(kubeconfig)
		}
		loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	// A preview must not hang on a cluster that does not answer.
	cfg.Timeout = 15 * time.Second
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return &apiServer{host: strings.TrimRight(cfg.Host, "/"), client: client, lists: map[string][]string{}}, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// get reads a path of the API server into v; found is false on 404.
func (a *apiServer) get(p string, v any) (found bool, err error) {
	resp, err := a.client.Get(a.host + p)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return false, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("GET %s: %s: %s", p, resp.Status, strings.TrimSpace(string(body)))
	case v == nil:
		return true, nil
	}
	return true, json.Unmarshal(body, v)
}

func (a *apiServer) Version() (int, int, error) {
	var v struct{ Major, Minor string }
	if _, err := a.get("/version", &v); err != nil {
		return 0, 0, err
	}
	return ParseVersion(v.Major + "." + v.Minor)
}

// apiPath is where groupVersion's resources are: /api/v1 for the core group, /apis/G/V else.
func apiPath(groupVersion string) string {
	if groupVersion == "v1" {
		return "/api/v1"
	}
	return "/apis/" + groupVersion
}

func (a *apiServer) Serves(groupVersion, resource string) (bool, error) {
	served, ok := a.lists[groupVersion]
	if !ok {
		var list struct {
			Resources []struct{ Name string } `json:"resources"`
		}
		found, err := a.get(apiPath(groupVersion), &list)
		if err != nil {
			// An aggregated API that is registered but down answers 503: not served.
			if strings.Contains(err.Error(), "503") {
				found = false
			} else {
				return false, err
			}
		}
		served = []string{}
		if found {
			for _, r := range list.Resources {
				served = append(served, r.Name)
			}
		}
		a.lists[groupVersion] = served
	}
	for _, r := range served {
		if r == resource {
			return true, nil
		}
	}
	return false, nil
}

func (a *apiServer) ClaimRequests(namespace string) (map[string]string, error) {
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Resources struct {
					Requests map[string]string `json:"requests"`
				} `json:"resources"`
			} `json:"spec"`
		} `json:"items"`
	}
	if _, err := a.get(path.Join("/api/v1/namespaces", namespace, "persistentvolumeclaims"), &list); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range list.Items {
		out[c.Metadata.Name] = c.Spec.Resources.Requests["storage"]
	}
	return out, nil
}

func (a *apiServer) Has(groupVersion, resource, namespace, name string) (bool, error) {
	return a.get(objectPath(groupVersion, resource, namespace, name), nil)
}

func (a *apiServer) Get(groupVersion, resource, namespace, name string) (map[string]any, bool, error) {
	var object map[string]any
	found, err := a.get(objectPath(groupVersion, resource, namespace, name), &object)
	return object, found, err
}

func objectPath(groupVersion, resource, namespace, name string) string {
	p := apiPath(groupVersion)
	if namespace != "" {
		p = path.Join(p, "namespaces", namespace)
	}
	return path.Join(p, resource, name)
}
