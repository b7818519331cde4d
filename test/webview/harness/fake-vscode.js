// Stands in for the VS Code webview host in the browser test: acquireVsCodeApi() posts to the test's
// node process through a Playwright binding (window.__hostPost), which runs the real GraphSession; the
// test delivers the host's messages back as window 'message' events, as VS Code does.
(function () {
  'use strict';
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + (window.__cspDebug ? ' @' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber : ''));
  });
  var state = null;
  var acquired = false;
  window.acquireVsCodeApi = function () {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return {
      postMessage: function (msg) { window.__hostPost(JSON.stringify(msg)); },
      getState: function () { return state; },
      setState: function (s) { state = s; },
    };
  };
})();
