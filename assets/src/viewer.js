// Placeholder entry: the read-only diagram viewer (bpmn-js NavigatedViewer) is built here.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';

window.GovFlowViewer = { NavigatedViewer };
