# imgpipe-helpers.bash: what imgpipe's run of skopeo's system tests changes in their helpers.bash
# (run.sh sources it at the end of it). skopeo's start_registry runs a registry image with podman;
# this one runs Debian's docker-registry (the CNCF distribution registry, 2.8, as the image) with
# the same options, and `podman rm -f NAME` stops it. Everything else is skopeo's.

start_registry() {
    local port=5000
    local testuser=
    local testpassword=
    local create_cert=
    local enable_delete=false

    local opt
    for opt; do
        local value=$(expr "$opt" : '[^=]*=\(.*\)')
        case "$opt" in
            --port=*)           port="$value";          shift;;
            --testuser=*)       testuser="$value";      shift;;
            --testpassword=*)   testpassword="$value";  shift;;
            --with-cert)        create_cert=1;          shift;;
            --enable-delete=*)  enable_delete="$value"; shift;;
            -*)                 die "Invalid option '$opt'" ;;
            *)                  break;;
        esac
    done

    local name=${1?start_registry() invoked without a NAME}
    [[ -n $TESTDIR && -d $TESTDIR ]]

    AUTHDIR=$TESTDIR/auth
    mkdir -p $AUTHDIR

    if (echo -n >/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        die "start_registry: something listens on :$port already"
    fi

    local config=$TESTDIR/registry-$name.yml
    local http="http: {addr: 127.0.0.1:$port}"
    {
        echo "version: 0.1"
        echo "log: {level: error, accesslog: {disabled: true}}"
        echo "storage: {filesystem: {rootdirectory: $TESTDIR/registry-$name}, delete: {enabled: $enable_delete}}"
    } > $config

    if [[ -n $testuser ]]; then
        if [[ -z $testpassword ]]; then
            die "start_registry() invoked with testuser but no testpassword"
        fi
        if ! grep -E -q "^$testuser:" $AUTHDIR/htpasswd 2>/dev/null; then
            htpasswd -Bbn $testuser $testpassword >> $AUTHDIR/htpasswd
        fi
        echo "auth: {htpasswd: {realm: Registry Realm, path: $AUTHDIR/htpasswd}}" >> $config
    fi

    if [[ -n $create_cert ]]; then
        CERT=$AUTHDIR/domain.crt
        if [ ! -e $CERT ]; then
            log_and_run openssl req -newkey rsa:4096 -nodes -sha256 \
                    -keyout $AUTHDIR/domain.key -x509 -days 2 \
                    -out $CERT \
                    -subj "/C=US/ST=Foo/L=Bar/O=Red Hat, Inc./CN=registry host certificate" \
                    -addext subjectAltName=DNS:localhost
        fi
        http="http: {addr: 127.0.0.1:$port, tls: {certificate: $CERT, key: $AUTHDIR/domain.key}}"
        mkdir -p $TESTDIR/client-auth
        log_and_run cp $CERT $TESTDIR/client-auth/
    fi

    echo "$http" >> $config
    docker-registry serve $config > $TESTDIR/registry-$name.log 2>&1 &
    echo $! > $TESTDIR/registry-$name.pid

    local timeout=10
    while [[ $timeout -ge 1 ]]; do
        if echo -n >/dev/tcp/127.0.0.1/$port; then
            return
        fi
        timeout=$(( timeout - 1 ))
        sleep 1
    done
    cat $TESTDIR/registry-$name.log
    die "Timed out waiting for registry $name to respond on :$port"
}

# podman rm -f NAME stops the registry start_registry started as NAME; any other podman command is podman's.
podman() {
    if [[ $1 == rm && $2 == -f && -f $TESTDIR/registry-$3.pid ]]; then
        local pid=$(cat $TESTDIR/registry-$3.pid)
        kill $pid 2>/dev/null || true
        while kill -0 $pid 2>/dev/null; do sleep 0.1; done
        rm -f $TESTDIR/registry-$3.pid
        return 0
    fi
    command podman "$@"
}
